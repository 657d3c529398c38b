"""A Python task that crashes its worker process (a segfault in native
code) takes down only the workers that run it: the scheduler reschedules
it until it has killed allowed-failures + 1 (4) workers, then errs it with
KilledWorker; results held elsewhere and new work are unaffected."""

import pytest

import taskgrid
from cluster import LocalCluster


def inc(x):
    return x + 1


def segfault(x):
    import ctypes

    return ctypes.string_at(0)  # reads address 0: SIGSEGV


@pytest.fixture(scope="module")
def crash_cluster():
    cluster = LocalCluster([{"nthreads": 1, "name": "w%d" % i} for i in range(5)])
    yield cluster
    cluster.close()


def test_segfaulting_task_kills_only_the_workers_that_run_it(crash_cluster):
    with taskgrid.Client(crash_cluster.scheduler_address, set_as_default=False) as c:
        address = {w["name"]: a for a, w in c.scheduler_info()["workers"].items()}
        keep = c.submit(inc, 1, workers=[address["w4"]])
        assert keep.result(timeout=30) == 2
        crash = c.submit(segfault, 0, workers=[address["w%d" % i] for i in range(4)])
        with pytest.raises(taskgrid.KilledWorker, match="died while running it"):
            crash.result(timeout=60)
        # Only the four workers that ran it are gone; w4 and its result stay.
        survivors = [w["name"] for w in c.scheduler_info()["workers"].values()]
        assert survivors == ["w4"]
        assert c.who_has(keep)[keep.key] == [address["w4"]]
        assert c.gather(keep) == 2
        assert c.submit(inc, 10, pure=False).result(timeout=30) == 11
