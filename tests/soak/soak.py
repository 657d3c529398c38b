#!/usr/bin/env python3
"""`make soak`: a bounded soak of a real local cluster with worker churn.

Starts taskgrid-scheduler + 3 taskgrid-worker on 127.0.0.1 (ephemeral
ports; process handling from bench/cluster.py), then for SOAK_SECONDS
(default 600):
  - 3 client threads, each with its own taskgrid.Client, submit graphs in a
    loop: a tree of inc/add tasks (some leaves sleep a little, some are
    followed by a short chain of incs) whose root must equal a known sum,
    and gather and check every root;
  - a churn thread SIGKILLs a random worker every few seconds and starts a
    replacement (soak-worker-0 is spared, so one worker's RSS is measured
    through the whole churn).
Afterwards: every result was correct, everything released leaves no task in
a state other than released/forgotten (ClusterInfo.tasks_by_state), and the
scheduler's and each surviving worker's RSS is back within tolerance of the
baseline taken after warm-up. Prints the figures; exits 1 on any failure.

Run with Debian's /usr/bin/python3 (grpcio, cloudpickle).
"""

import argparse
import os
import random
import signal
import sys
import tempfile
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "bench"))
sys.path.insert(0, os.path.join(ROOT, "clients", "python"))

from cluster import _Processes, find_binary, free_port  # noqa: E402
import taskgrid  # noqa: E402

MIB = 1 << 20
# RSS tolerance after the run, against the post-warm-up baseline: allocator
# caches and gRPC buffers grow a little; a leak proportional to the work
# done (thousands of graphs) does not fit in this.
RSS_SLACK = 64 * MIB
RSS_FACTOR = 1.5
DONE_STATES = ("released", "forgotten")


def inc(x):
    return x + 1


def slow_inc(x):
    time.sleep(0.02)
    return x + 1


def add(a, b):
    return a + b


def rss_bytes(pid):
    """VmRSS of a live process, or None once it is gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


class SoakCluster:
    """Scheduler + workers; kill_random_worker/start_worker for churn.
    Thread-safe (one lock around the worker table)."""

    def __init__(self, build_dir, log_dir, n_workers):
        self.build_dir = build_dir
        self.log_dir = log_dir
        self.procs = _Processes(log_dir)
        self.lock = threading.Lock()
        self.workers = {}  # name -> Popen
        self.next_worker = 0
        port = free_port()
        self.address = "127.0.0.1:%d" % port
        self.scheduler = self.procs.start("taskgrid-scheduler", [
            find_binary(build_dir, "services/scheduler", "taskgrid-scheduler"),
            "--host", "127.0.0.1", "--port", str(port), "--metrics-port", "0"])
        self.worker_bin = find_binary(build_dir, "services/worker", "taskgrid-worker")
        for _ in range(n_workers):
            self.start_worker()

    def start_worker(self):
        with self.lock:
            name = "soak-worker-%d" % self.next_worker
            self.next_worker += 1
            local = os.path.join(self.log_dir, name)
            os.makedirs(local)
            self.workers[name] = self.procs.start(name, [
                self.worker_bin, self.address, "--nthreads", "2", "--host", "127.0.0.1",
                "--port", "0", "--metrics-port", "0", "--name", name,
                "--local-directory", local, "--python"])
            return name

    def kill_random_worker(self, rng):
        """SIGKILLs one worker other than the first (soak-worker-0 lives
        through the whole churn, so its RSS has a baseline to compare to)."""
        with self.lock:
            name = rng.choice(sorted(n for n in self.workers if n != "soak-worker-0"))
            proc = self.workers.pop(name)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            # Out of the process table: stop_all/check_alive only see the living.
            for entry in list(self.procs.procs):
                if entry[1] is proc:
                    self.procs.procs.remove(entry)
                    entry[2].close()
            return name

    def worker_pids(self):
        with self.lock:
            return {name: p.pid for name, p in self.workers.items()}

    def wait_workers(self, client, n, timeout=30):
        deadline = time.monotonic() + timeout
        while len(client.scheduler_info()["workers"]) < n:
            self.procs.check_alive()
            if time.monotonic() > deadline:
                raise RuntimeError("%d workers did not register; logs in %s" % (n, self.log_dir))
            time.sleep(0.1)

    def close(self):
        return self.procs.stop_all()


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.graphs = 0
        self.tasks = 0
        self.checked = 0
        self.refetches = 0
        self.failures = []

    def add(self, **kw):
        with self.lock:
            for k, v in kw.items():
                setattr(self, k, getattr(self, k) + v)

    def fail(self, message):
        with self.lock:
            self.failures.append(message)


def submit_tree(client, tag, n_leaves, rng):
    """A reduction tree over inc(i) leaves, some of them followed by a short
    chain of incs (which the scheduler pipelines); returns (root future,
    expected, number of tasks)."""
    level = []
    tasks = n_leaves
    expected = n_leaves * (n_leaves + 1) // 2  # sum of i + 1 for i < n
    for i in range(n_leaves):
        fn = slow_inc if rng.random() < 0.1 else inc
        leaf = client.submit(fn, i, key="%s-leaf-%d" % (tag, i))
        if rng.random() < 0.2:
            for k in range(3):
                fn = slow_inc if rng.random() < 0.1 else inc
                leaf = client.submit(fn, leaf, key="%s-link-%d-%d" % (tag, i, k))
            tasks += 3
            expected += 3
        level.append(leaf)
    depth = 0
    while len(level) > 1:
        nxt = []
        for j in range(0, len(level) - 1, 2):
            nxt.append(client.submit(add, level[j], level[j + 1],
                                     key="%s-add-%d-%d" % (tag, depth, j)))
            tasks += 1
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
        depth += 1
    return level[0], expected, tasks


def client_loop(cluster, index, stop, stats, seed):
    rng = random.Random(seed)
    client = taskgrid.Client(cluster.address, set_as_default=False, name="soak-%d" % index)
    try:
        n = 0
        while not stop.is_set():
            tag = "c%d-g%d" % (index, n)
            n += 1
            root, expected, ntasks = submit_tree(client, tag, rng.randint(8, 64), rng)
            value = None
            for attempt in range(5):
                try:
                    value = client.gather(root)
                    break
                except taskgrid.FutureLost:
                    # The holder died between "finished" and the fetch; the
                    # scheduler recomputes the key.
                    stats.add(refetches=1)
                    time.sleep(0.2)
            if value != expected:
                stats.fail("%s: got %r, expected %d" % (tag, value, expected))
            else:
                stats.add(checked=1)
            stats.add(graphs=1, tasks=ntasks)
            del root  # releases the graph
    except Exception as e:  # noqa: BLE001 - any client error fails the soak
        stats.fail("client %d: %s: %s" % (index, type(e).__name__, e))
    finally:
        client.close()


def churn_loop(cluster, stop, interval, counters, seed):
    rng = random.Random(seed)
    while not stop.wait(rng.uniform(0.5 * interval, 1.5 * interval)):
        counters["killed"] += 1
        cluster.kill_random_worker(rng)
        cluster.start_worker()


def wait_no_tasks(client, timeout):
    """Waits until every task is released or forgotten; returns the last
    tasks_by_state."""
    deadline = time.monotonic() + timeout
    while True:
        states = client.scheduler_info()["tasks_by_state"]
        live = {s: n for s, n in states.items() if s not in DONE_STATES and n}
        if not live or time.monotonic() > deadline:
            return live
        time.sleep(0.2)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--seconds", type=float,
                    default=float(os.environ.get("SOAK_SECONDS", "600")))
    ap.add_argument("--kill-every", type=float, default=4.0)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    log_dir = tempfile.mkdtemp(prefix="taskgrid-soak-")
    print("soak: %.0f s, logs in %s" % (args.seconds, log_dir), flush=True)
    cluster = SoakCluster(args.build, log_dir, 3)
    failures = []
    stop = None
    try:
        admin = taskgrid.Client(cluster.address, set_as_default=False, name="soak-admin")
        cluster.wait_workers(admin, 3)

        # Warm-up: a few graphs per client without churn, then the baseline.
        warm = Stats()
        stop = threading.Event()
        threads = [threading.Thread(target=client_loop, args=(cluster, i, stop, warm, 100 + i),
                                    daemon=True)
                   for i in range(3)]
        for t in threads:
            t.start()
        time.sleep(min(10.0, max(2.0, args.seconds / 20)))
        stop.set()
        for t in threads:
            t.join()
        if warm.failures:
            failures += warm.failures
        wait_no_tasks(admin, 30)
        base = {"scheduler": rss_bytes(cluster.scheduler.pid)}
        for name, pid in cluster.worker_pids().items():
            base[name] = rss_bytes(pid)
        peak = dict(base)

        stats = Stats()
        stop = threading.Event()
        counters = {"killed": 0}
        threads = [threading.Thread(target=client_loop,
                                    args=(cluster, i, stop, stats, args.seed * 10 + i),
                                    daemon=True)
                   for i in range(3)]
        threads.append(threading.Thread(target=churn_loop,
                                        args=(cluster, stop, args.kill_every, counters,
                                              args.seed),
                                        daemon=True))
        for t in threads:
            t.start()
        end = time.monotonic() + args.seconds
        while time.monotonic() < end and not stats.failures:
            time.sleep(1.0)
            cluster.procs.check_alive()
            pids = dict(cluster.worker_pids(), scheduler=cluster.scheduler.pid)
            for name, pid in pids.items():
                r = rss_bytes(pid)
                if r is not None:
                    peak[name] = max(peak.get(name) or 0, r)
            elapsed = args.seconds - (end - time.monotonic())
            if int(elapsed) % 30 == 0:
                print("  %4.0f s: %d graphs, %d tasks, %d checked, %d workers killed"
                      % (elapsed, stats.graphs, stats.tasks, stats.checked,
                         counters["killed"]), flush=True)
        stop.set()
        for t in threads:
            t.join()
        failures += stats.failures

        # Everything released: nothing may be left in flight.
        live = wait_no_tasks(admin, 60)
        if live:
            failures.append("tasks left after release: %s" % live)
        time.sleep(2.0)  # workers drop released keys, allocators settle
        cluster.procs.check_alive()
        final = {"scheduler": rss_bytes(cluster.scheduler.pid)}
        for name, pid in cluster.worker_pids().items():
            final[name] = rss_bytes(pid)
        admin.close()

        print("soak figures (%.0f s, 3 clients, 3 workers, kill every ~%.0f s):"
              % (args.seconds, args.kill_every))
        print("  graphs %d, tasks %d, results checked %d/%d, refetches %d, "
              "workers killed %d (+%d warm-up graphs)"
              % (stats.graphs, stats.tasks, stats.checked, stats.graphs, stats.refetches,
                 counters["killed"], warm.graphs))
        print("  RSS MiB (baseline after warm-up / peak / final; limit "
              "max(baseline + %d MiB, %.1fx baseline)):" % (RSS_SLACK // MIB, RSS_FACTOR))
        for name in sorted(final):
            b, p, f = base.get(name), peak.get(name), final[name]
            if f is None:
                continue
            if b is None:  # a replacement worker: its own baseline is its start
                print("    %-18s -      / %6.1f / %6.1f (replacement)"
                      % (name, (p or f) / MIB, f / MIB))
                continue
            limit = max(b + RSS_SLACK, b * RSS_FACTOR)
            print("    %-18s %6.1f / %6.1f / %6.1f (limit %.1f)"
                  % (name, b / MIB, p / MIB, f / MIB, limit / MIB))
            if f > limit:
                failures.append("%s RSS %.1f MiB above %.1f MiB (baseline %.1f)"
                                % (name, f / MIB, limit / MIB, b / MIB))
        if stats.graphs == 0 or stats.checked != stats.graphs:
            failures.append("%d of %d graphs checked correct" % (stats.checked, stats.graphs))
    except Exception as e:  # noqa: BLE001
        failures.append("%s: %s" % (type(e).__name__, e))
    finally:
        # Also when interrupted (Ctrl-C): no client or churn thread may go on
        # starting workers once the cluster is closed.
        if stop is not None:
            stop.set()
        problems = cluster.close()
        failures += problems
    if failures:
        print("SOAK FAILED:")
        for f in failures:
            print("  " + f)
        print("logs in " + log_dir)
        return 1
    print("soak passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
