"""Local clusters for `make bench`: a taskgrid or Dask scheduler plus two
one-thread workers, all on 127.0.0.1 with free ports.

Both classes are context managers; leaving the `with` block (normally or by
an exception) stops every process they started: SIGTERM first, SIGKILL for
whatever has not exited after a grace period. Each process logs to its own
file under `log_dir`.
"""

import abc
import os
import signal
import socket
import subprocess
import time
import urllib.request

DASK_PYTHON = "/usr/bin/python3"


def free_port():
    """A TCP port that was free a moment ago (bind to port 0, read, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find_binary(build_dir, subdir, name):
    """build/<subdir>/<name>, or build/<name> (a target may set its
    RUNTIME_OUTPUT_DIRECTORY to the top of the build tree)."""
    for path in (os.path.join(build_dir, subdir, name), os.path.join(build_dir, name)):
        if os.access(path, os.X_OK):
            return path
    raise RuntimeError(f"missing {os.path.join(build_dir, subdir, name)}: build it first")


class _Processes:
    """Processes started for one cluster, stopped together."""

    def __init__(self, log_dir, env=None):
        self.log_dir = log_dir
        self.env = env
        self.procs = []  # (name, Popen, log file)
        os.makedirs(log_dir, exist_ok=True)

    def start(self, name, argv):
        log = open(os.path.join(self.log_dir, name + ".log"), "wb")
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=self.env)
        self.procs.append((name, proc, log))
        return proc

    def check_alive(self):
        for name, proc, _ in self.procs:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"{name} exited with code {proc.returncode}; see "
                    f"{os.path.join(self.log_dir, name + '.log')}")

    def stop_all(self, grace=10.0):
        """Stops every process; returns how those that did not exit cleanly
        on SIGTERM ended (a crash at shutdown is worth knowing about)."""
        # Workers first so they do not spend the grace period reconnecting.
        for _, proc, _ in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        problems = []
        for name, proc, _ in reversed(self.procs):
            try:
                code = proc.wait(timeout=max(0.1, deadline - time.monotonic()))
                if code not in (0, -signal.SIGTERM, 128 + signal.SIGTERM):
                    problems.append(f"{name} exited with {code} on SIGTERM")
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                problems.append(f"{name} ignored SIGTERM for {grace:.0f} s; killed")
        for _, _, log in self.procs:
            log.close()
        self.procs = []
        return problems


class _LocalCluster(abc.ABC):
    """Base: `address` and `scheduler_pid` are set by _start(); leaving the
    with-block stops every process, also when _start() itself fails."""

    procs = None
    stop_problems = ()  # set on exit: processes that did not stop cleanly

    @abc.abstractmethod
    def _start(self):
        """Starts the processes; sets address, scheduler_pid and procs."""

    def __enter__(self):
        try:
            self._start()
        except BaseException:
            self.procs.stop_all()
            raise
        return self

    def __exit__(self, *exc):
        self.stop_problems = self.procs.stop_all()
        return False

    def check_alive(self):
        self.procs.check_alive()


class TaskgridCluster(_LocalCluster):
    """taskgrid-scheduler + 2 taskgrid-worker --nthreads 1, and with
    `gateway` a taskgrid-gateway in front (gateway_http / gateway_grpc)."""

    def __init__(self, build_dir, log_dir, bench_binary, workers=2, gateway=False):
        self.build_dir = build_dir
        self.bench_binary = bench_binary
        self.n_workers = workers
        self.with_gateway = gateway
        self.procs = _Processes(log_dir)
        self.address = None
        self.scheduler_pid = None
        # The scheduler's Prometheus endpoint (its event-loop delay histogram).
        self.metrics_url = None
        self.gateway_http = None
        self.gateway_grpc = None

    def _start(self):
        port, metrics_port = free_port(), free_port()
        self.address = f"127.0.0.1:{port}"
        self.metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
        sched = self.procs.start("taskgrid-scheduler", [
            find_binary(self.build_dir, "services/scheduler", "taskgrid-scheduler"),
            "--host", "127.0.0.1", "--port", str(port), "--metrics-port", str(metrics_port)])
        self.scheduler_pid = sched.pid
        time.sleep(0.2)
        self.procs.check_alive()
        worker = find_binary(self.build_dir, "services/worker", "taskgrid-worker")
        for i in range(self.n_workers):
            self.procs.start(f"taskgrid-worker-{i}", [
                worker,
                self.address, "--nthreads", "1", "--host", "127.0.0.1",
                "--port", "0", "--metrics-port", "0", "--name", f"bench-{i}"])
        # taskgrid-bench retries ClusterInfo until the workers registered.
        out = subprocess.run(
            [self.bench_binary, "--scheduler", self.address,
             "--workload", "wait-workers", "--n", str(self.n_workers)],
            capture_output=True, text=True, timeout=60)
        self.procs.check_alive()
        if out.returncode != 0:
            raise RuntimeError(
                f"workers did not register: {out.stdout.strip()} {out.stderr.strip()}")
        if self.with_gateway:
            self._start_gateway()

    def _start_gateway(self, timeout=30):
        http_port, grpc_port = free_port(), free_port()
        self.gateway_http = f"127.0.0.1:{http_port}"
        self.gateway_grpc = f"127.0.0.1:{grpc_port}"
        self.procs.start("taskgrid-gateway", [
            find_binary(self.build_dir, "services/gateway", "taskgrid-gateway"),
            self.address, "--host", "127.0.0.1", "--http-port", str(http_port),
            "--grpc-port", str(grpc_port)])
        # Ready: connected to the scheduler (its /readyz says so).
        deadline = time.monotonic() + timeout
        while True:
            self.procs.check_alive()
            try:
                with urllib.request.urlopen(
                        f"http://{self.gateway_http}/readyz", timeout=5) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"taskgrid-gateway not ready within {timeout} s")
            time.sleep(0.1)


class DaskCluster(_LocalCluster):
    """dask-scheduler + 2 dask-worker --nthreads 1 --no-nanny."""

    def __init__(self, log_dir, extra_env=None, workers=2, tag="default"):
        env = dict(os.environ)
        env.update(extra_env or {})
        # Keep Dask from reading a user's ~/.config/dask into the comparison.
        env["DASK_CONFIG"] = os.path.join(log_dir, "no-dask-config")
        self.n_workers = workers
        self.tag = tag
        self.procs = _Processes(log_dir, env=env)
        self.address = None
        self.scheduler_pid = None

    def _start(self):
        port = free_port()
        self.address = f"tcp://127.0.0.1:{port}"
        sched = self.procs.start(f"dask-scheduler-{self.tag}", [
            DASK_PYTHON, "-m", "distributed.cli.dask_scheduler",
            "--host", "127.0.0.1", "--port", str(port),
            "--dashboard-address", ":0", "--no-show"])
        self.scheduler_pid = sched.pid
        for i in range(self.n_workers):
            self.procs.start(f"dask-worker-{self.tag}-{i}", [
                DASK_PYTHON, "-m", "distributed.cli.dask_worker", self.address,
                "--nthreads", "1", "--nworkers", "1", "--no-nanny",
                "--host", "127.0.0.1", "--name", f"bench-{i}"])
        self._wait_workers(timeout=60)

    def _wait_workers(self, timeout):
        code = (
            "import sys\n"
            "from distributed import Client\n"
            "c = Client(sys.argv[1], timeout='30s')\n"
            "c.wait_for_workers(int(sys.argv[2]), timeout=float(sys.argv[3]))\n"
            "c.close()\n")
        out = subprocess.run(
            [DASK_PYTHON, "-c", code, self.address, str(self.n_workers),
             str(timeout)],
            capture_output=True, text=True, timeout=timeout + 30,
            env=self.procs.env)
        self.procs.check_alive()
        if out.returncode != 0:
            raise RuntimeError(f"dask workers did not register: {out.stderr[-2000:]}")
