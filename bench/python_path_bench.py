"""The Python path side by side: the same workloads through taskgrid's
Python client (python-runtime workers) and through Dask.distributed, each
on 2 one-thread workers on 127.0.0.1, printed with taskgrid/Dask ratios.

    /usr/bin/python3 bench/python_path_bench.py [--build-dir build] [--map 20000] [--chunks 2500]

`make bench` runs it after bench/run_bench.py; the table also goes to
bench/results/python_path.json.

Workloads: submit->result round trip of a tiny function (p50), a map of
tiny Python tasks, and a dask.array sum over many chunks.
"""
import argparse
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "clients", "python"))
sys.path.insert(0, os.path.join(HERE, "..", "clients", "python", "tests"))


def inc(x):
    return x + 1


def latency(client, n):
    client.submit(inc, -1, pure=False).result()
    samples = []
    for i in range(n):
        t = time.perf_counter()
        client.submit(inc, i, pure=False).result()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples) * 1e3  # ms


def map_rate(client, n):
    t = time.perf_counter()
    futures = client.map(inc, range(n), pure=False)
    client.gather(futures)
    return n / (time.perf_counter() - t)  # tasks/s


def array_sum(client, chunks):
    import dask.array as da

    side = int(chunks ** 0.5)
    x = da.ones((side * 100, side * 100), chunks=(100, 100))
    t = time.perf_counter()
    total = client.compute(x.sum()).result()
    assert total == x.size
    return time.perf_counter() - t  # s


def run(client, args):
    return {"latency p50 (ms)": latency(client, args.latency),
            "map tasks/s": map_rate(client, args.map),
            "array sum (s)": array_sum(client, args.chunks)}


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--build-dir", default=os.path.join(HERE, "..", "build"))
    p.add_argument("--latency", type=int, default=200)
    p.add_argument("--map", type=int, default=20000)
    p.add_argument("--chunks", type=int, default=2500)
    p.add_argument("--results", default=os.path.join(HERE, "results"))
    args = p.parse_args(argv)
    os.environ.setdefault("TASKGRID_SCHEDULER_BIN", os.path.join(
        args.build_dir, "services", "scheduler", "taskgrid-scheduler"))
    os.environ.setdefault("TASKGRID_WORKER_BIN", os.path.join(
        args.build_dir, "services", "worker", "taskgrid-worker"))

    import taskgrid
    from cluster import LocalCluster

    cluster = LocalCluster([{"nthreads": 1}, {"nthreads": 1}])
    try:
        with taskgrid.Client(cluster.scheduler_address, set_as_default=False) as c:
            tg = run(c, args)
    finally:
        cluster.close()

    import distributed

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as dc, distributed.Client(dc) as c:
        dk = run(c, args)

    rows = []
    print("%-20s %14s %14s %10s" % ("workload", "taskgrid", "dask", "speedup"))
    for name in tg:
        higher_is_better = "/s" in name
        ratio = tg[name] / dk[name] if higher_is_better else dk[name] / tg[name]
        rows.append({"workload": name, "taskgrid": tg[name], "dask": dk[name],
                     "speedup": ratio})
        print("%-20s %14.3f %14.3f %9.1fx" % (name, tg[name], dk[name], ratio))
    os.makedirs(args.results, exist_ok=True)
    path = os.path.join(args.results, "python_path.json")
    with open(path, "w") as f:
        json.dump({"sizes": {"latency": args.latency, "map": args.map,
                             "chunks": args.chunks},
                   "rows": rows, "loadavg": os.getloadavg()}, f, indent=2)
    print(f"wrote {path}")


if __name__ == "__main__":
    main(sys.argv[1:])
