#!/usr/bin/python3
"""Dask.distributed side of `make bench`: runs one workload against a running
dask-scheduler and prints one JSON line of results.

    /usr/bin/python3 bench/dask_workloads.py --scheduler tcp://127.0.0.1:PORT \
        --workload map --n 20000 [--scheduler-pid PID]

The workloads mirror bench/taskgrid_bench.cc one for one (same functions,
graph shapes and timing boundaries), so the numbers compare like for like.
Needs Debian's python3-distributed (run with /usr/bin/python3).
"""

import argparse
import json
import math
import statistics
import sys
import threading
import time

import numpy as np
from distributed import Client, wait


def inc(x):
    return x + 1


def add(x, y):
    return x + y


def nbytes(x):
    return x.nbytes


def read_rss(pid):
    """Resident set size of process `pid` in bytes (VmRSS)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def scheduler_task_count(client):
    return client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks))


def drain(client, timeout=30.0):
    """Waits until the scheduler forgot every task of earlier workloads, so
    one workload's leftovers never count against the next. Returns how many
    tasks were still left at the timeout (reported as leftover_tasks)."""
    deadline = time.monotonic() + timeout
    while True:
        left = scheduler_task_count(client)
        if left == 0 or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def warm_up(client, n=20):
    for i in range(n):
        client.submit(inc, i, pure=False).result()


def run_latency(client, args):
    samples = []
    for i in range(args.n):
        t0 = time.perf_counter()
        value = client.submit(inc, i, pure=False).result()
        samples.append(time.perf_counter() - t0)
        if value != i + 1:
            raise RuntimeError(f"inc({i}) returned {value}")
    samples.sort()
    return {
        "n": args.n,
        "p50_us": percentile(samples, 50) * 1e6,
        "p99_us": percentile(samples, 99) * 1e6,
        "mean_us": statistics.fmean(samples) * 1e6,
    }


def percentile(sorted_samples, p):
    """Nearest-rank percentile (same definition as taskgrid_bench.cc)."""
    idx = max(0, math.ceil(p / 100.0 * len(sorted_samples)) - 1)
    return sorted_samples[min(idx, len(sorted_samples) - 1)]


def run_map(client, args):
    t0 = time.perf_counter()
    futures = client.map(inc, range(args.n))
    results = client.gather(futures)
    elapsed = time.perf_counter() - t0
    expected = args.n * (args.n + 1) // 2
    if sum(results) != expected:
        raise RuntimeError(f"map results sum to {sum(results)}, want {expected}")
    return throughput(args.n, elapsed)


def throughput(tasks, seconds):
    return {"tasks": tasks, "seconds": seconds, "tasks_per_s": tasks / seconds}


def run_chain(client, args):
    dsk = {"chain-0": (inc, 0)}
    for i in range(1, args.n):
        dsk[f"chain-{i}"] = (inc, f"chain-{i - 1}")
    last = f"chain-{args.n - 1}"
    t0 = time.perf_counter()
    result = client.get(dsk, last)
    elapsed = time.perf_counter() - t0
    if result != args.n:
        raise RuntimeError(f"chain returned {result}, want {args.n}")
    return throughput(args.n, elapsed)


def tree_graph(leaves):
    """Binary tree of add over `leaves` inc(i) leaves (a power of two)."""
    if leaves < 1 or leaves & (leaves - 1):
        raise ValueError("tree leaves must be a power of two")
    dsk = {f"tree-0-{j}": (inc, j) for j in range(leaves)}
    level, width = 0, leaves
    while width > 1:
        for j in range(width // 2):
            dsk[f"tree-{level + 1}-{j}"] = (
                add, f"tree-{level}-{2 * j}", f"tree-{level}-{2 * j + 1}")
        level, width = level + 1, width // 2
    return dsk, f"tree-{level}-0"


class PeakRss:
    """Samples a process's resident memory every 20 ms on a thread while in
    the with-block (as the taskgrid driver does); peak/baseline in bytes."""

    def __init__(self, pid):
        self.pid, self.baseline, self.peak = pid, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, read_rss(self.pid))

    def __enter__(self):
        if self.pid:
            self.baseline = self.peak = read_rss(self.pid)
            self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        if self.pid:
            self._thread.join()


def run_tree(client, args):
    dsk, root = tree_graph(args.n)
    with PeakRss(args.scheduler_pid) as rss:
        t0 = time.perf_counter()
        result = client.get(dsk, root)
        elapsed = time.perf_counter() - t0
    expected = args.n * (args.n + 1) // 2
    if result != expected:
        raise RuntimeError(f"tree returned {result}, want {expected}")
    out = throughput(len(dsk), elapsed)
    out["leaves"] = args.n
    if args.scheduler_pid:
        out["sched_peak_rss_bytes"] = rss.peak
        out["sched_peak_bytes_per_task"] = (rss.peak - rss.baseline) / len(dsk)
    return out


def timed_consumer(client, data, worker):
    t0 = time.perf_counter()
    value = client.submit(nbytes, data, workers=[worker], pure=False).result()
    return time.perf_counter() - t0, value


def run_transfer(client, args):
    """Time of a consumer on worker B (must fetch the array from A) minus the
    time of the same consumer on A (data local): the transfer time."""
    workers = sorted(client.scheduler_info()["workers"])
    if len(workers) < 2:
        raise RuntimeError("transfer needs two workers")
    a, b = workers[0], workers[1]
    local, remote, transfer = [], [], []
    for rep in range(args.reps):
        data = client.submit(np.ones, args.n // 8, workers=[a], pure=False)
        wait(data)
        t_local, n_local = timed_consumer(client, data, a)
        t_remote, n_remote = timed_consumer(client, data, b)
        if n_local != args.n or n_remote != args.n:
            raise RuntimeError(f"consumer saw {n_local}/{n_remote} bytes, want {args.n}")
        local.append(t_local)
        remote.append(t_remote)
        transfer.append(max(t_remote - t_local, 1e-9))
        del data
    # Dask's own record of the fetch, for reference (not what is compared).
    logged = client.run(
        lambda dask_worker: [(e["total"], e["duration"])
                             for e in dask_worker.incoming_transfer_log],
        workers=[b])[b]
    big = [d for total, d in logged if total >= args.n]
    t = statistics.median(transfer)
    return {
        "bytes": args.n,
        "reps": args.reps,
        "local_s": statistics.median(local),
        "remote_s": statistics.median(remote),
        "transfer_s": t,
        "transfer_s_each": transfer,
        "gb_per_s": args.n / t / 1e9,
        "logged_gb_per_s": (args.n / statistics.median(big) / 1e9) if big else None,
    }


def run_memory(client, args):
    if not args.scheduler_pid:
        raise RuntimeError("memory needs --scheduler-pid")
    time.sleep(0.5)
    before = read_rss(args.scheduler_pid)
    t0 = time.perf_counter()
    futures = client.map(inc, range(args.n), pure=False)
    wait(futures)
    elapsed = time.perf_counter() - t0
    if any(f.status != "finished" for f in futures):
        raise RuntimeError("not every held task finished")
    time.sleep(2)  # let the scheduler settle, as the taskgrid driver does
    after = read_rss(args.scheduler_pid)
    return {
        "n": args.n,
        "rss_before": before,
        "rss_after": after,
        "bytes_per_task": (after - before) / args.n,
        "tasks_per_s": args.n / elapsed,
    }


WORKLOADS = {
    "latency": run_latency,
    "map": run_map,
    "chain": run_chain,
    "tree": run_tree,
    "transfer": run_transfer,
    "memory": run_memory,
}


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scheduler", required=True)
    parser.add_argument("--workload", required=True, choices=sorted(WORKLOADS))
    parser.add_argument("--n", type=int, required=True,
                        help="tasks, chain length, tree leaves or bytes")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--scheduler-pid", type=int, default=0)
    args = parser.parse_args(argv)

    with Client(args.scheduler, timeout="30s") as client:
        drain(client)
        warm_up(client)
        leftover = drain(client)
        result = WORKLOADS[args.workload](client, args)
        result["worker_saturation"] = client.run_on_scheduler(
            lambda dask_scheduler: str(dask_scheduler.WORKER_SATURATION))
    result["workload"] = args.workload
    result["leftover_tasks"] = leftover
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
