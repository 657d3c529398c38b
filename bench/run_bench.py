#!/usr/bin/python3
"""`make bench`: taskgrid vs Dask.distributed on this machine, side by side.

    /usr/bin/python3 bench/run_bench.py --build build [--quick] [--only taskgrid|dask]

Starts a real local taskgrid cluster (scheduler + 2 one-thread workers on
127.0.0.1) and runs every workload through build/bench/taskgrid-bench; then a
real Dask cluster twice (default config, then worker-saturation inf) and runs
the same workloads through bench/dask_workloads.py. Prints the comparison
table and writes bench/results/bench.json and bench/results/bench.png.
Exits 1 if any workload failed. See bench/README.md.
"""

import argparse
import datetime
import json
import os
import platform
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import bench_spec  # noqa: E402
import loop_delay  # noqa: E402
import report  # noqa: E402
from cluster import DASK_PYTHON, DaskCluster, TaskgridCluster, find_binary  # noqa: E402

DASK_CONFIGS = [
    ("dask_default", {}),
    ("dask_best", {"DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION": "inf"}),
]
TASKGRID_TIMEOUT_S = 180
DASK_TIMEOUT_S = 300


def run_driver(argv, timeout):
    """Runs one driver invocation; returns its JSON result or {"error": ...}."""
    started = time.monotonic()
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout} s"}
    lines = [l for l in out.stdout.splitlines() if l.startswith("{")]
    if out.returncode != 0 or not lines:
        tail = (out.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"exit {out.returncode}: {tail[:300]}"}
    result = json.loads(lines[-1])
    result["wall_s"] = time.monotonic() - started
    return result


def workload_args(workload, sizes):
    size = sizes[workload]
    argv = ["--workload", bench_spec.DRIVER_WORKLOAD[workload], "--n", str(size["n"])]
    if "reps" in size:
        argv += ["--reps", str(size["reps"])]
    return argv


def run_system(name, cluster, driver_prefix, sizes, workloads, timeout, log,
               bounds=None):
    """Runs each workload's driver against `cluster`. A workload in `bounds`
    is stopped after that many seconds and recorded as {"dnf_s": bound}."""
    results = {}
    for workload in workloads:
        argv = driver_prefix + ["--scheduler", cluster.address,
                                "--scheduler-pid", str(cluster.scheduler_pid)]
        argv += workload_args(workload, sizes)
        if workload in bench_spec.GATEWAY_WORKLOADS:
            argv += ["--gateway-http", cluster.gateway_http,
                     "--gateway-grpc", cluster.gateway_grpc]
        bound = (bounds or {}).get(workload)
        metrics_url = getattr(cluster, "metrics_url", None)
        watch_loop = metrics_url and workload in bench_spec.LOOP_DELAY_WORKLOADS
        before = loop_delay.scrape(metrics_url) if watch_loop else None
        result = run_driver(argv, bound or timeout)
        if bound and result.get("error", "").startswith("timed out"):
            result = {"dnf_s": bound}
        if watch_loop and "error" not in result:
            result.update(loop_delay.summarize(before, loop_delay.scrape(metrics_url)) or {})
        results[workload] = result
        log(f"  {name:13s} {workload:12s} " + (
            f"ERROR {result['error']}" if "error" in result else
            json.dumps({k: round(v, 4) if isinstance(v, float) else v
                        for k, v in result.items() if k != "workload"})))
        cluster.check_alive()
    return results


def run_taskgrid(args, sizes, workloads, log_dir, log):
    bench_bin = find_binary(args.build, "bench", "taskgrid-bench")
    gateway = any(w in bench_spec.GATEWAY_WORKLOADS for w in workloads)
    with TaskgridCluster(args.build, log_dir, bench_bin, gateway=gateway) as cluster:
        log(f"taskgrid cluster at {cluster.address}")
        results = run_system("taskgrid", cluster, [bench_bin], sizes, workloads,
                             TASKGRID_TIMEOUT_S, log)
    for problem in cluster.stop_problems:
        log(f"warning: {problem} (see {log_dir})")
    return results


def run_dask(name, env, sizes, workloads, log_dir, log):
    # Dask has no gateway: those rows read n/a.
    workloads = [w for w in workloads if w not in bench_spec.GATEWAY_WORKLOADS]
    if not workloads:
        return {}
    with DaskCluster(log_dir, extra_env=env, tag=name) as cluster:
        log(f"{name} cluster at {cluster.address} {env or ''}")
        driver = [DASK_PYTHON, os.path.join(HERE, "dask_workloads.py")]
        results = run_system(name, cluster, driver, sizes, workloads,
                             DASK_TIMEOUT_S, log, bench_spec.DASK_BOUNDS_S)
    for problem in cluster.stop_problems:
        log(f"warning: {problem} (see {log_dir})")
    return results


def dask_version():
    try:
        return subprocess.run(
            [DASK_PYTHON, "-c", "import distributed; print(distributed.__version__)"],
            capture_output=True, text=True, timeout=60).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default="build",
                        help="CMake build directory with the taskgrid binaries")
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke run)")
    parser.add_argument("--only", choices=["taskgrid", "dask"])
    parser.add_argument("--workloads", default=",".join(bench_spec.WORKLOADS),
                        help="comma-separated subset of " + ",".join(bench_spec.WORKLOADS))
    parser.add_argument("--results", default=os.path.join(HERE, "results"))
    args = parser.parse_args(argv)
    workloads = [w for w in args.workloads.split(",") if w]
    unknown = set(workloads) - set(bench_spec.WORKLOADS)
    if unknown:
        parser.error(f"unknown workloads: {', '.join(sorted(unknown))}")
    args.build = os.path.abspath(args.build)

    # A SIGTERM must still stop the clusters (the with-blocks clean up).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    os.makedirs(args.results, exist_ok=True)
    log_dir = os.path.join(args.results, "logs")
    started = time.monotonic()

    def log(msg):
        print(f"[{time.monotonic() - started:6.1f}s] {msg}", flush=True)

    load_before = os.getloadavg()
    if load_before[0] > 1.0:
        log(f"warning: load average {load_before[0]:.1f} before the run; "
            "other work on this machine slows both systems")
    results, failures = {}, []
    if args.only in (None, "taskgrid"):
        sizes = bench_spec.sizes_for("taskgrid", args.quick)
        try:
            results["taskgrid"] = run_taskgrid(args, sizes, workloads, log_dir, log)
        except Exception as e:  # noqa: BLE001 - reported, Dask still runs
            failures.append(f"taskgrid: {e}")
            log(f"taskgrid failed: {e}")
    if args.only in (None, "dask"):
        sizes = bench_spec.sizes_for("dask", args.quick)
        for name, env in DASK_CONFIGS:
            try:
                results[name] = run_dask(name, env, sizes, workloads, log_dir, log)
            except Exception as e:  # noqa: BLE001
                failures.append(f"{name}: {e}")
                log(f"{name} failed: {e}")

    meta = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "host": platform.node(),
        "cpus": os.cpu_count(),
        "quick": args.quick,
        "dask_version": dask_version(),
        "sizes": {"taskgrid": bench_spec.sizes_for("taskgrid", args.quick),
                  "dask": bench_spec.sizes_for("dask", args.quick)},
        "bench_seconds": time.monotonic() - started,
        "loadavg_before": load_before,
        "loadavg_after": os.getloadavg(),
        "failures": failures + report.errors(results),
    }
    json_path = os.path.join(args.results, "bench.json")
    png_path = os.path.join(args.results, "bench.png")
    report.write_json(results, meta, json_path)
    report.draw_chart(results, png_path,
                      f"taskgrid vs Dask.distributed {meta['dask_version']} "
                      f"({meta['cpus']} cores, 2 one-thread workers, 127.0.0.1)"
                      + (" [quick]" if args.quick else ""))
    print()
    print("\n".join(report.table_lines(results)))
    print(f"\nwrote {json_path} and {png_path} in {meta['bench_seconds']:.0f} s")
    for failure in meta["failures"]:
        print(f"FAILED: {failure}")
    return 1 if meta["failures"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
