"""What `make bench` measures: the workloads, their sizes and the goal line.

Both systems run the same workloads (same task functions, same graph shapes)
through a small driver each: bench/taskgrid-bench (C++, taskgrid client) and
bench/dask_workloads.py (distributed.Client). Each driver invocation runs one
workload and prints one JSON line; the metrics named here are the keys of that
line.

Targets and the Dask reference numbers come from the "Performance targets"
table of the design (../shared/design.md).
"""

import collections

# Sizes per workload. "dask" overrides apply to both Dask configurations where
# the full size would make one Dask run take minutes (the table says so).
FULL_SIZES = {
    "latency": {"n": 1000},
    "map": {"n": 20000},
    "chain": {"n": 5000},
    "tree": {"n": 65536},  # leaves; tasks = 2 * leaves - 1
    # Transfers report the median of their repetitions. The small ones are
    # mostly one round trip, within the jitter of a Dask task (~1-2 ms):
    # with 11 repetitions Dask's 1 MiB row once read 3.9 GB/s, so they
    # take many more.
    "transfer1k": {"n": 1 << 10, "reps": 41},
    "transfer1m": {"n": 1 << 20, "reps": 41},
    "transfer16": {"n": 16 << 20, "reps": 5},
    "transfer256": {"n": 256 << 20, "reps": 5},
    "memory": {"n": 200000},
    "gateway_rest": {"n": 1000},
    "gateway_grpc": {"n": 1000},
    # The million-task graph: 524,288 leaves = 1,048,575 tasks.
    "tree1m": {"n": 524288},
}
DASK_SIZE_OVERRIDES = {
    # 131k tasks at Dask's ~600 tasks/s default would take ~4 minutes.
    "tree": {"n": 8192},
    # 200k held tasks at ~640 tasks/s would take ~5 minutes; per-task memory
    # is what is compared, and 10k tasks (~60 MB on Dask) measure it well.
    "memory": {"n": 10000},
}
QUICK_SIZES = {
    "latency": {"n": 200},
    "map": {"n": 2000},
    "chain": {"n": 300},
    "tree": {"n": 1024},
    "transfer1k": {"n": 1 << 10, "reps": 3},
    "transfer1m": {"n": 1 << 20, "reps": 2},
    "transfer16": {"n": 16 << 20, "reps": 2},
    "transfer256": {"n": 256 << 20, "reps": 1},
    "memory": {"n": 10000},
    "gateway_rest": {"n": 200},
    "gateway_grpc": {"n": 200},
    "tree1m": {"n": 16384},
}
QUICK_DASK_SIZE_OVERRIDES = {
    "tree": {"n": 512},
    "memory": {"n": 3000},
}

# tree1m runs last: a Dask run stopped at its bound leaves its cluster busy.
WORKLOADS = ["memory", "latency", "map", "chain", "tree", "transfer1k", "transfer1m",
             "transfer16", "transfer256", "gateway_rest", "gateway_grpc", "tree1m"]

# Seconds a Dask run of these workloads may take before it is stopped and
# reported as "did not finish in N s" (not a failure): at Dask's ~600-4,000
# tasks/s the million-task tree would take 5-30 minutes.
DASK_BOUNDS_S = {"tree1m": 120}

# Workloads during which the taskgrid scheduler's event-loop delay histogram
# is read (bench/loop_delay.py); Dask has no such histogram.
LOOP_DELAY_WORKLOADS = ["tree1m"]

# Workloads through taskgrid-gateway (started beside the taskgrid cluster
# for them). Dask.distributed has no such gateway: its cells read "n/a"
# (its own client's submit->result is the "round trip" row).
GATEWAY_WORKLOADS = ["gateway_rest", "gateway_grpc"]

# Which driver workload a bench workload runs (the transfer rows are the
# same driver workload with different sizes).
TRANSFER_WORKLOADS = ["transfer1k", "transfer1m", "transfer16", "transfer256"]
DRIVER_WORKLOAD = {w: w for w in WORKLOADS}
for _w in TRANSFER_WORKLOADS:
    DRIVER_WORKLOAD[_w] = "transfer"
DRIVER_WORKLOAD["gateway_rest"] = "gateway-rest"
DRIVER_WORKLOAD["gateway_grpc"] = "gateway-grpc"
DRIVER_WORKLOAD["tree1m"] = "tree"

# One table row per metric. better: "higher" (throughput) or "lower"
# (latency, memory); the ratio column is always "how many times better
# taskgrid is than the better Dask configuration" (bigger = taskgrid better).
Row = collections.namedtuple(
    "Row", "workload metric label unit better target dask_default_ref dask_best_ref")

ROWS = [
    Row("latency", "p50_us", "submit->result round trip p50", "us", "lower",
        100.0, 10700.0, None),
    Row("latency", "p99_us", "submit->result round trip p99", "us", "lower",
        None, None, None),
    Row("map", "tasks_per_s", "independent tiny tasks (map+gather)", "tasks/s",
        "higher", 100000.0, 641.0, 3553.0),
    Row("chain", "tasks_per_s", "linear chain of dependent tasks", "tasks/s",
        "higher", 20000.0, 175.0, 174.0),
    Row("tree", "tasks_per_s", "binary tree reduction", "tasks/s", "higher",
        100000.0, 626.0, 4001.0),
    Row("tree1m", "seconds", "1M-task tree reduction, submit->result", "s",
        "lower", 20.0, None, None),
    Row("tree1m", "sched_peak_bytes_per_task",
        "scheduler peak memory per task, 1M-task tree", "bytes", "lower",
        1000.0, None, None),
    Row("tree1m", "loop_delay_p99_ms",
        "scheduler event-loop delay p99 (bucket bound), 1M-task tree", "ms",
        "lower", 10.0, None, None),
    Row("transfer1k", "gb_per_s", "worker->worker transfer, 1 KiB", "GB/s",
        "higher", None, None, None),
    Row("transfer1m", "gb_per_s", "worker->worker transfer, 1 MiB", "GB/s",
        "higher", None, None, None),
    Row("transfer16", "gb_per_s", "worker->worker transfer, 16 MiB", "GB/s",
        "higher", None, None, None),
    Row("transfer256", "gb_per_s", "worker->worker transfer, 256 MiB", "GB/s",
        "higher", 2.0, 0.50, None),
    Row("memory", "bytes_per_task", "scheduler memory per held task", "bytes",
        "lower", 1000.0, 5700.0, None),
    Row("gateway_rest", "p50_us", "gateway REST one-task job submit->result p50",
        "us", "lower", None, None, None),
    Row("gateway_rest", "p99_us", "gateway REST one-task job submit->result p99",
        "us", "lower", None, None, None),
    Row("gateway_grpc", "p50_us", "gateway gRPC one-task job submit->result p50",
        "us", "lower", None, None, None),
    Row("gateway_grpc", "p99_us", "gateway gRPC one-task job submit->result p99",
        "us", "lower", None, None, None),
]


def sizes_for(system, quick):
    """Workload sizes for "taskgrid" or "dask"."""
    base = QUICK_SIZES if quick else FULL_SIZES
    sizes = {w: dict(v) for w, v in base.items()}
    if system == "dask":
        overrides = QUICK_DASK_SIZE_OVERRIDES if quick else DASK_SIZE_OVERRIDES
        for w, v in overrides.items():
            sizes[w].update(v)
    return sizes
