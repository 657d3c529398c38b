"""The Python client survives a scheduler restart: the real scheduler is
SIGKILLed in the middle of a graph and a new one started on the same port;
the client reconnects, re-declares the results it holds and sends its
pending graph again, every future completes with the right value, and the
results that survived on the workers are not computed again (each task
run leaves a file behind, so runs are counted, not timed). Without a
scheduler to come back to, it gives up after reconnect_timeout with an
error naming the scheduler and the timeout."""
import os
import re
import time
import uuid

import dask
import grpc
import pytest

import taskgrid
from taskgrid import _reconnect
from cluster import LocalCluster


def record(directory, name, x):
    """x + 1, leaving a file that says the task ran once more."""
    with open(os.path.join(directory, "%s.%s" % (name, uuid.uuid4().hex)), "w"):
        pass
    return x + 1


def add_record(directory, name, x, y):
    record(directory, name, 0)
    return x + y


def gate(directory, name):
    """Returns 0 once the test creates directory/open (60 s at most)."""
    deadline = time.monotonic() + 60
    while not os.path.exists(os.path.join(directory, "open")):
        if time.monotonic() > deadline:
            raise TimeoutError("the test never opened the gate")
        time.sleep(0.02)
    return record(directory, name, -1)


def runs(directory, name):
    return sum(1 for f in os.listdir(directory) if f.rpartition(".")[0] == name)


def test_graph_in_flight_finishes_after_restart_without_recomputing_what_survived(tmp_path):
    # Placement waits 2 s after the first sign of a restart, so both
    # workers have reported what they hold before anything is recomputed.
    cluster = LocalCluster([{"nthreads": 2}, {"nthreads": 2}],
                           scheduler_args=["--recovery-hold", "2"])
    d = str(tmp_path)
    try:
        with taskgrid.Client(cluster.scheduler_address, set_as_default=False,
                             name="restart-test") as c:
            # Results held before the crash: the client keeps no definition
            # of them, it re-declares them by key.
            early = c.submit(record, d, "early", 100)
            held = [c.submit(record, d, "held-%d" % i, i) for i in range(4)]
            assert early.result(timeout=60) == 101
            assert c.gather(held) == [1, 2, 3, 4]
            # One graph (a pending key keeps its definition): the roots
            # finish before the crash, the seconds wait for a gate that
            # stays shut until after it.
            g = dask.delayed(gate)(d, "gate", dask_key_name="k-gate")
            roots = [dask.delayed(record)(d, "root-%d" % i, i, dask_key_name="k-root-%d" % i)
                     for i in range(6)]
            seconds = [dask.delayed(add_record)(d, "second-%d" % i, r, g,
                                                dask_key_name="k-second-%d" % i)
                       for i, r in enumerate(roots)]
            futures = c.compute(seconds)

            deadline = time.monotonic() + 60
            while c.scheduler_info()["tasks_by_state"].get("memory", 0) < 1 + 4 + 6:
                assert time.monotonic() < deadline, "roots not done; logs in " + cluster.dir
                time.sleep(0.05)
            assert not any(f.done() for f in futures)
            # Only the pending graph's message is kept (the submits' are
            # freed once their keys are done).
            assert len(c._graphs) == 1

            cluster.kill_scheduler()
            deadline = time.monotonic() + 30
            while c.status != "connecting":
                assert time.monotonic() < deadline, "the client did not notice the crash"
                time.sleep(0.02)
            # Submitted while no scheduler runs: sent once one is back.
            during = c.submit(record, d, "during", 5)
            cluster.restart_scheduler()
            open(os.path.join(d, "open"), "w").close()
            assert [f.result(timeout=60) for f in futures] == list(range(1, 7))
            assert during.result(timeout=60) == 6
            assert early.result(timeout=30) == 101
            assert c.gather(held) == [1, 2, 3, 4]
            assert c.status == "running"
            assert not c._graphs

            # Nothing that was in memory ran again; what was not ran once.
            names = ["early", "during"] + ["held-%d" % i for i in range(4)]
            names += ["root-%d" % i for i in range(6)] + ["second-%d" % i for i in range(6)]
            for name in names:
                assert runs(d, name) == 1, name
            # The gate was running at the crash: its first run may finish
            # too (the worker cannot stop a Python thread).
            assert 1 <= runs(d, "gate") <= 2

            info = c.scheduler_info()
            assert len(info["workers"]) == 2 and info["clients"] == 1
            # The reconnected session takes new work.
            assert c.submit(record, d, "later", 1).result(timeout=30) == 2
    finally:
        cluster.close()


def test_gives_up_after_reconnect_timeout_naming_the_scheduler(tmp_path):
    cluster = LocalCluster([{"nthreads": 1}])
    d = str(tmp_path)
    try:
        c = taskgrid.Client(cluster.scheduler_address, set_as_default=False,
                            reconnect_timeout=1)
        try:
            assert c.submit(record, d, "done", 1).result(timeout=60) == 2
            waiting = c.submit(gate, d, "never")
            cluster.kill_scheduler()
            expected = re.escape("lost connection to the taskgrid scheduler at %s and could "
                                 "not reconnect within 1 s" % cluster.scheduler_address)
            with pytest.raises(ConnectionError, match=expected):
                waiting.result(timeout=60)
            assert waiting.status == "lost"
            with pytest.raises(ConnectionError, match=expected):
                c.submit(record, d, "after", 1)
        finally:
            open(os.path.join(d, "open"), "w").close()  # frees the worker's thread
            c.close()
    finally:
        cluster.close()


def test_reconnect_timeout_argument_and_environment(monkeypatch):
    monkeypatch.delenv("TASKGRID_RECONNECT_TIMEOUT", raising=False)
    assert _reconnect.reconnect_timeout(None) == 60
    assert _reconnect.reconnect_timeout(2.5) == 2.5
    monkeypatch.setenv("TASKGRID_RECONNECT_TIMEOUT", "7")
    assert _reconnect.reconnect_timeout(None) == 7
    assert _reconnect.reconnect_timeout(0) == 0  # the argument wins
    monkeypatch.setenv("TASKGRID_RECONNECT_TIMEOUT", "soon")
    assert _reconnect.reconnect_timeout(None) == 60  # ignored, with a warning
    for bad in (-1, "10", float("nan")):
        with pytest.raises(ValueError, match="reconnect_timeout must be a number of seconds"):
            taskgrid.Client("127.0.0.1:1", reconnect_timeout=bad)


def test_only_statuses_retrying_may_fix_reconnect():
    final = {"UNAUTHENTICATED", "PERMISSION_DENIED", "INVALID_ARGUMENT", "FAILED_PRECONDITION",
             "UNIMPLEMENTED", "ABORTED", "ALREADY_EXISTS"}
    for code in grpc.StatusCode:
        if code is grpc.StatusCode.OK:
            continue
        assert _reconnect.retryable(code) == (code.name not in final), code
    assert _reconnect.should_reconnect(None)  # the scheduler ended the stream
    assert not _reconnect.should_reconnect(ValueError("a bug in an event handler"))
