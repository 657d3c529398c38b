"""A real taskgrid cluster (scheduler + workers from the built binaries) on
127.0.0.1 with ephemeral ports, for the client's tests.

The binaries come from $TASKGRID_SCHEDULER_BIN / $TASKGRID_WORKER_BIN (set
by CMake/Bazel), else from build-py/ or build/ in the source tree.
"""
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))


def _binary(env_name, relative):
    path = os.environ.get(env_name)
    if path:
        return os.path.abspath(path)  # workers run in their own directories
    for build in ("build-py", "build"):
        candidate = os.path.join(ROOT, build, relative)
        if os.path.exists(candidate):
            return candidate
    raise RuntimeError("set %s to the built binary" % env_name)


class LocalCluster:
    """`workers` is a list of dicts of extra worker flags, e.g.
    [{"nthreads": 2, "resources": "FOO=1"}, {"nthreads": 2}]."""

    def __init__(self, workers, token=None, scheduler_args=()):
        """With `token`, the scheduler requires it (--token-file) and the
        workers send it (TASKGRID_TOKEN). `scheduler_args`: extra flags."""
        self.dir = tempfile.mkdtemp(prefix="taskgrid-pytest-")
        self.procs = []
        self.token = token
        self._scheduler_args = list(scheduler_args)
        if token:
            with open(os.path.join(self.dir, "tokens"), "w") as f:
                f.write(token + "\n")
            self._scheduler_args += ["--token-file", os.path.join(self.dir, "tokens")]
        self.scheduler = self._start_scheduler("0", "scheduler.log")
        self.scheduler_address = "%s:%s" % self._listening
        # Workers import the test modules (functions pickled by reference)
        # from PYTHONPATH, and user modules from their working directory.
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([HERE, os.path.dirname(HERE)]))
        if token:
            env["TASKGRID_TOKEN"] = token
        self.worker_dirs = []
        for i, flags in enumerate(workers):
            cwd = os.path.join(self.dir, "worker-%d" % i)
            os.makedirs(cwd)
            self.worker_dirs.append(cwd)
            args = [_binary("TASKGRID_WORKER_BIN", "services/worker/taskgrid-worker"),
                    self.scheduler_address, "--host", "127.0.0.1", "--port", "0",
                    "--metrics-port", "0", "--python"]
            for name, value in flags.items():
                args += ["--" + name, str(value)]
            wlog = open(os.path.join(self.dir, "worker-%d.log" % i), "w")
            self.procs.append(subprocess.Popen(args, cwd=cwd, env=env, stdout=wlog,
                                               stderr=subprocess.STDOUT))
        self._wait_for_workers(len(workers))

    def _start_scheduler(self, port, log_name):
        log = open(os.path.join(self.dir, log_name), "w")
        scheduler = subprocess.Popen(
            [_binary("TASKGRID_SCHEDULER_BIN", "services/scheduler/taskgrid-scheduler"),
             "--host", "127.0.0.1", "--port", port, "--metrics-port", "0"]
            + self._scheduler_args, stdout=subprocess.PIPE, stderr=log, text=True)
        self.procs.append(scheduler)
        line = scheduler.stdout.readline()
        m = re.search(r"listening on (\S+):(\d+)", line)
        if not m:
            self.close()
            raise RuntimeError("scheduler did not start: %r; log in %s" % (line, self.dir))
        self._listening = m.groups()
        return scheduler

    def kill_scheduler(self):
        """SIGKILLs the scheduler (no goodbye to anyone)."""
        self.scheduler.kill()
        self.scheduler.wait(5)

    def restart_scheduler(self):
        """SIGKILLs the scheduler (unless killed already) and starts a new
        one on the same port (the old one's log stays)."""
        if self.scheduler.poll() is None:
            self.kill_scheduler()
        port = self.scheduler_address.rpartition(":")[2]
        restarts = sum(1 for name in os.listdir(self.dir) if name.startswith("scheduler"))
        self.scheduler = self._start_scheduler(port, "scheduler-%d.log" % restarts)

    def _wait_for_workers(self, n, timeout=20):
        import taskgrid

        c = taskgrid.Client(self.scheduler_address, set_as_default=False, token=self.token)
        try:
            deadline = time.monotonic() + timeout
            while len(c.scheduler_info()["workers"]) < n:
                if time.monotonic() > deadline:
                    raise RuntimeError("workers did not register; logs in %s" % self.dir)
                time.sleep(0.05)
        finally:
            c.close()

    def close(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
        self.procs = []
