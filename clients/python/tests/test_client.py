"""Behaviours of distributed.Client, ported from distributed/tests/
test_client.py, against a real taskgrid cluster (one per module)."""
import concurrent.futures
import gc
import io
import operator
import os
import time

import numpy as np
import pytest

import taskgrid
from taskgrid import ALL_COMPLETED, FIRST_COMPLETED, Client, as_completed, wait
from cluster import LocalCluster


def inc(x):
    return x + 1


def add(x, y=0):
    return x + y


def slowinc(x, delay=0.2):
    time.sleep(delay)
    return x + 1


def throws(x):
    raise ZeroDivisionError("one does not simply divide by %s" % x)


class MyError(Exception):
    pass


def raise_custom(x):
    raise MyError("custom failure %s" % x)


def started_at(x, delay=0.05):
    t = time.monotonic()
    time.sleep(delay)
    return t


def fail_until(path, n):
    """Fails the first n calls (counted in a file the workers share)."""
    count = int(open(path).read()) if os.path.exists(path) else 0
    with open(path, "w") as f:
        f.write(str(count + 1))
    if count < n:
        raise ValueError("attempt %d fails" % count)
    return count


@pytest.fixture(scope="module")
def cluster():
    c = LocalCluster([{"nthreads": 2, "resources": "FOO=1", "name": "alice"},
                      {"nthreads": 2, "name": "bob"}])
    yield c
    c.close()


@pytest.fixture(scope="module")
def c(cluster):
    client = Client(cluster.scheduler_address)
    yield client
    client.close()


@pytest.fixture(scope="module")
def addresses(c):
    info = c.scheduler_info()["workers"]
    return {w["name"]: addr for addr, w in info.items()}


def test_submit(c):
    x = c.submit(inc, 10)
    assert not x.done() or x.result() == 11
    assert x.key.startswith("inc-")
    assert x.result() == 11
    assert x.done() and x.status == "finished"
    y = c.submit(inc, 20)
    z = c.submit(add, x, y)
    assert z.result() == 11 + 21


def test_submit_kwargs_and_keys(c):
    assert c.submit(add, 1, y=2).result() == 3
    f = c.submit(add, 1, 2, key="my-add")
    assert f.key == "my-add" and f.result() == 3


def test_map(c):
    L1 = c.map(inc, range(5))
    assert len(L1) == 5 and len({f.key for f in L1}) == 5
    assert c.gather(L1) == [1, 2, 3, 4, 5]
    L2 = c.map(add, range(5), range(5, 10))
    assert c.gather(L2) == [5, 7, 9, 11, 13]
    L3 = c.map(add, range(3), y=10)
    assert c.gather(L3) == [10, 11, 12]
    L4 = c.map(inc, L1)  # futures as elements
    assert c.gather(L4) == [2, 3, 4, 5, 6]
    L5 = c.map(inc, [1, 2], key=["one", "two"])
    assert [f.key for f in L5] == ["one", "two"] and c.gather(L5) == [2, 3]


def test_pure_keys_are_deduplicated(c):
    a, b = c.submit(inc, 1), c.submit(inc, 1)
    assert a.key == b.key
    assert c.submit(inc, 2).key != a.key
    d, e = c.submit(inc, 1, pure=False), c.submit(inc, 1, pure=False)
    assert d.key != e.key
    L = c.map(inc, [1, 1, 2])
    assert L[0].key == L[1].key != L[2].key
    assert c.gather(L) == [2, 2, 3]


def test_gather_structures(c):
    x, y = c.submit(inc, 1), c.submit(inc, 2)
    assert c.gather(x) == 2
    assert c.gather([x, [y, 5]]) == [2, [3, 5]]
    assert c.gather({"a": x, "b": (y, x)}) == {"a": 2, "b": (3, 2)}


def test_exceptions(c):
    x = c.submit(throws, 1)
    with pytest.raises(ZeroDivisionError, match="simply divide by 1"):
        x.result()
    assert x.status == "error"
    assert isinstance(x.exception(), ZeroDivisionError)
    tb = x.traceback()
    assert "in throws" in tb and "ZeroDivisionError" in tb
    with pytest.raises(ZeroDivisionError) as info:
        c.gather([x])
    assert any("Remote traceback" in n for n in info.value.__notes__)


def test_custom_exception_type_is_reraised(c):
    with pytest.raises(MyError, match="custom failure 3"):
        c.submit(raise_custom, 3).result()


def test_dependent_of_erred_task_errs(c):
    x = c.submit(throws, 2)
    y = c.submit(inc, x)
    with pytest.raises(ZeroDivisionError):
        y.result()
    assert y.status == "error"


def test_gather_errors_skip(c):
    good, bad = c.submit(inc, 5), c.submit(throws, 5)
    assert c.gather([good, bad, good], errors="skip") == [6, 6]


def test_retries(c, cluster):
    path = os.path.join(cluster.dir, "retries-ok")
    assert c.submit(fail_until, path, 2, retries=2, pure=False).result() == 2
    path = os.path.join(cluster.dir, "retries-short")
    with pytest.raises(ValueError, match="attempt 1 fails"):
        c.submit(fail_until, path, 5, retries=1, pure=False).result()


def test_cancel(c):
    slow = c.submit(slowinc, 1, delay=1.0, pure=False)
    after = c.submit(inc, slow)
    c.cancel([after])
    assert after.cancelled() and after.status == "cancelled"
    with pytest.raises(concurrent.futures.CancelledError):
        after.result()
    assert slow.result() == 2  # the dependency was not cancelled


def test_as_completed(c):
    futures = [c.submit(slowinc, i, delay=0.3 - 0.1 * i, pure=False) for i in range(3)]
    seen = list(as_completed(futures))
    assert sorted(f.key for f in seen) == sorted(f.key for f in futures)
    results = sorted(r for _, r in as_completed(c.map(inc, range(4)), with_results=True))
    assert results == [1, 2, 3, 4]
    ac = as_completed([c.submit(inc, 100)])
    ac.add(c.submit(inc, 101))
    assert sorted(f.result() for f in ac) == [101, 102]


def test_wait(c):
    fs = c.map(inc, range(10, 15))
    done, not_done = wait(fs)
    assert len(done) == 5 and not not_done
    fast = c.submit(inc, 1000)
    slow = c.submit(slowinc, 1000, delay=1.0, pure=False)
    done, not_done = wait([fast, slow], return_when=FIRST_COMPLETED)
    assert fast in done and slow in not_done
    with pytest.raises(TimeoutError):
        wait([c.submit(slowinc, 0, delay=1.0, pure=False)], timeout=0.05)
    assert wait([slow], return_when=ALL_COMPLETED).done == {slow}


def test_result_timeout(c):
    f = c.submit(slowinc, 7, delay=1.0, pure=False)
    with pytest.raises(TimeoutError):
        f.result(timeout=0.05)
    assert f.result(timeout=10) == 8


def test_futures_nested_in_arguments(c):
    x, y = c.submit(inc, 1), c.submit(inc, 2)
    assert c.submit(sum, [x, y, 10]).result() == 15
    assert c.submit(lambda d: d["a"] * d["b"], {"a": x, "b": y}).result() == 6
    assert c.submit(lambda t: t[0] - t[1][0], (y, (x,))).result() == 1  # tuples
    assert c.submit(add, x, y=y).result() == 5  # kwargs


def test_scatter(c):
    a, b = c.scatter([1, 2])
    assert isinstance(a, taskgrid.Future) and a.result() == 1
    assert c.submit(add, a, b).result() == 3
    d = c.scatter({"x": 10, "y": (1, 2)})
    assert set(d) == {"x", "y"} and d["x"].key == "x"
    assert c.gather(d) == {"x": 10, "y": (1, 2)}
    arr = np.arange(100000, dtype="float32")
    f = c.scatter(arr)
    assert c.scatter(arr).key == f.key  # hashed: same data, same key
    assert c.submit(np.sum, f).result() == arr.sum()
    back = f.result()
    assert back.dtype == np.float32 and (back == arr).all()


def test_scatter_checksum_is_zlib_crc32_and_workers_verify_it(c, addresses):
    import grpc
    import zlib
    from taskgrid import _scatter
    from taskgrid.v1 import worker_pb2

    data = os.urandom(3 * _scatter.CHUNK_BYTES + 5)
    chunks = list(_scatter._chunks([("k", data)], "cid"))
    assert len(chunks) == 4
    assert all(ch.checksum == worker_pb2.DataChunk.CRC32 for ch in chunks)
    assert chunks[-1].crc32c == zlib.crc32(data)
    # A multi-chunk array makes the round trip intact.
    arr = np.random.default_rng(1).random(600000)
    f = c.scatter(arr, workers=["bob"])
    assert (f.result() == arr).all()
    assert c.submit(np.sum, f).result() == arr.sum()
    key = f.key
    f.release()  # (later tests weigh what the workers hold)
    deadline = time.time() + 30
    while c.who_has([key])[key] and time.time() < deadline:
        time.sleep(0.05)
    # A value corrupted on the way is refused, by name.
    bad = list(_scatter._chunks([("corrupted", data)], "cid"))
    bad[1].data = b"x" + bad[1].data[1:]
    stub = c._worker_stub(addresses["bob"].replace("tcp://", ""))
    with pytest.raises(grpc.RpcError) as e:
        stub.PutData(iter(bad), timeout=30)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "key 'corrupted': crc32 mismatch" in e.value.details()


def test_scatter_goes_to_the_workers_asked(c, addresses):
    bob, alice = addresses["bob"], addresses["alice"]
    [f] = c.scatter(["only on bob"], workers=["bob"])
    assert c.who_has(f)[f.key] == [bob]
    assert f.result() == "only on bob" and f.status == "finished"
    g = c.scatter("on every worker", broadcast=True)
    assert sorted(c.who_has(g)[g.key]) == sorted([alice, bob])
    assert c.submit(lambda s: s.upper(), g).result() == "ON EVERY WORKER"
    with pytest.raises(ValueError, match="no connected worker"):
        c.scatter([1], workers=["nobody:1"])


def test_replicate_and_rebalance(c, addresses):
    bob, alice = addresses["bob"], addresses["alice"]
    xs = c.scatter(["replica-%d" % i for i in range(6)], workers=[alice])
    c.replicate(xs, n=2)
    assert all(sorted(c.who_has(x)[x.key]) == sorted([alice, bob]) for x in xs)
    c.replicate(xs, n=1)
    assert all(len(c.who_has(x)[x.key]) == 1 for x in xs)
    # 2 MB piled on bob: rebalancing them moves some to alice, none copied.
    ys = c.scatter([bytes([i]) * 200000 for i in range(10)], workers=[bob])
    c.rebalance(ys)
    holders = [c.who_has(y)[y.key] for y in ys]
    assert all(len(h) == 1 for h in holders)
    on_alice = sum(h == [alice] for h in holders)
    assert 3 <= on_alice <= 7, holders
    assert c.gather(ys) == [bytes([i]) * 200000 for i in range(10)]


def test_numpy_and_python_values_round_trip(c):
    for value in [None, True, 3, 2.5, "text", b"bytes", [1, [2]], {"a": 1},
                  (1, 2), {1: "x"}, np.float32(1.5), np.arange(12).reshape(3, 4)]:
        got = c.submit(lambda v: v, value).result()
        assert type(got) is type(value)
        if isinstance(value, np.ndarray):
            assert got.shape == value.shape and (got == value).all()
        else:
            assert got == value


def test_priorities(c, addresses):
    bob = addresses["bob"]
    blockers = [c.submit(slowinc, i, delay=0.4, pure=False, workers=[bob]) for i in range(2)]
    low = [c.submit(started_at, i, pure=False, workers=[bob], priority=-10) for i in range(4)]
    high = [c.submit(started_at, i, pure=False, workers=[bob], priority=10) for i in range(4)]
    wait(blockers + low + high)
    assert max(f.result() for f in high) <= min(f.result() for f in low)


def test_restrictions(c, addresses):
    bob, alice = addresses["bob"], addresses["alice"]
    fs = c.map(inc, range(20, 26), workers=[bob])
    wait(fs)
    assert all(c.who_has(f)[f.key] == [bob] for f in fs)
    g = c.submit(inc, 500, resources={"FOO": 1})
    g.result()
    assert c.who_has(g)[g.key] == [alice]
    h = c.submit(inc, 600, workers=["127.0.0.1:1"], allow_other_workers=True)
    assert h.result() == 601


def make_lock(x):
    import threading
    return threading.Lock()


def lock_is_free(lock):
    return lock.acquire(blocking=False)


def same_object(a, b):
    return a is b


def test_results_stay_python_objects_on_their_worker(c, addresses):
    bob, alice = addresses["bob"], addresses["alice"]
    # Not a native value: kept as the Python object, never pickled on bob.
    box = c.submit(make_lock, 0, workers=[bob])
    assert c.submit(same_object, box, box, workers=[bob]).result() is True
    # A lock cannot be pickled, yet a task on the same worker can use it...
    lock = c.submit(make_lock, 1, workers=[bob])
    assert c.submit(lock_is_free, lock, workers=[bob]).result() is True
    # ...and only moving it off its worker fails, naming the type.
    elsewhere = c.submit(lock_is_free, lock, workers=[alice])
    with pytest.raises(Exception, match="cannot pickle a result of type lock"):
        elsewhere.result()
    with pytest.raises(Exception, match="cannot pickle a result of type lock"):
        lock.result()


def test_impossible_resources_stay_pending(c):
    f = c.submit(inc, 700, resources={"BAR": 1})
    with pytest.raises(TimeoutError):
        f.result(timeout=0.3)
    assert f.status == "pending"


def test_scheduler_info_and_who_has(c):
    info = c.scheduler_info()
    assert len(info["workers"]) == 2
    for addr, w in info["workers"].items():
        assert addr.startswith("tcp://127.0.0.1:") and w["nthreads"] == 2
    assert sorted(w["name"] for w in info["workers"].values()) == ["alice", "bob"]
    assert sum(c.nthreads().values()) == 4
    f = c.submit(inc, 800)
    f.result()
    assert c.who_has([f])[f.key][0] in info["workers"]


def test_add_done_callback(c):
    called = concurrent.futures.Future()
    f = c.submit(slowinc, 900, delay=0.1, pure=False)
    f.add_done_callback(called.set_result)
    assert called.result(timeout=10) is f
    late = concurrent.futures.Future()
    f.add_done_callback(late.set_result)  # already done: called at once
    assert late.result(timeout=10) is f


def test_release_on_garbage_collection(c):
    f = c.submit(inc, 12345)
    key = f.key
    f.result()
    assert c.who_has([key])[key]
    del f
    gc.collect()
    deadline = time.monotonic() + 10
    while c.who_has([key]).get(key) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not c.who_has([key]).get(key)


def test_get_dask_graph(c):
    dsk = {"x": 1, "y": (inc, "x"), "z": (add, "x", "y"), ("w", 0): (sum, ["x", "y", "z"])}
    assert c.get(dsk, "z") == 3
    assert c.get(dsk, [["y", "z"], [("w", 0)]]) == [[2, 3], [6]]


def test_executor(c):
    with c.executor() as ex:
        assert isinstance(ex, concurrent.futures.Executor)
        assert ex.submit(inc, 1).result() == 2
        assert list(ex.map(add, range(4), range(4))) == [0, 2, 4, 6]
        with pytest.raises(ZeroDivisionError):
            ex.submit(throws, 0).result()
    with taskgrid.TaskgridExecutor(c) as ex:
        assert ex.submit(operator.mul, 6, 7).result() == 42


def test_progress(c):
    out = io.StringIO()
    fs = c.map(slowinc, range(5), delay=0.05)
    assert taskgrid.progress(fs, file=out) == 0
    assert "5/5" in out.getvalue()


def test_worker_cwd_is_on_sys_path(c, cluster):
    for d in cluster.worker_dirs:
        with open(os.path.join(d, "tg_user_module.py"), "w") as f:
            f.write("def triple(x):\n    return 3 * x\n")
    fs = c.map(lambda x: __import__("tg_user_module").triple(x), range(6), pure=False)
    assert c.gather(fs) == [0, 3, 6, 9, 12, 15]


def test_client_from_environment_and_context_manager(cluster, monkeypatch):
    monkeypatch.setenv("TASKGRID_SCHEDULER_ADDRESS", cluster.scheduler_address)
    with Client(set_as_default=False) as c2:
        assert c2.submit(inc, 41).result() == 42
        assert c2.status == "running"
    assert c2.status == "closed"


def test_restart(c):
    f = c.submit(slowinc, 1, delay=0.5, pure=False)
    c.restart()
    assert f.status == "cancelled"
    assert c.submit(inc, 1, pure=False).result() == 2  # usable afterwards
