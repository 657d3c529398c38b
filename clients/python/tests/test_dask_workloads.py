"""Dask collections on taskgrid give the same answers as dask's local
scheduler: arrays, bags, delayed pipelines and dataframes."""
import dask
import dask.array as da
import dask.bag as db
import numpy as np
import pandas as pd
import pytest

import taskgrid
from taskgrid import Client
from cluster import LocalCluster


@pytest.fixture(scope="module")
def c():
    cluster = LocalCluster([{"nthreads": 2}, {"nthreads": 2}])
    client = Client(cluster.scheduler_address)  # the default dask scheduler now
    yield client
    client.close()
    cluster.close()


def test_array_reduction(c):
    x = da.random.RandomState(0).random_sample((1200, 1200), chunks=(100, 100))
    y = (x + x.T).mean(axis=0).std()
    expected = y.compute(scheduler="sync")
    assert dask.compute(y, scheduler=c.get)[0] == pytest.approx(expected)
    assert y.compute() == pytest.approx(expected)  # the client is the default
    z = (x[:300, :300] * 2).compute()
    assert isinstance(z, np.ndarray) and z.shape == (300, 300)
    np.testing.assert_allclose(z, (x[:300, :300] * 2).compute(scheduler="sync"))


def test_bag_word_count(c):
    lines = ["the quick brown fox", "jumps over the lazy dog", "the dog barks"] * 20
    b = db.from_sequence(lines, npartitions=6)
    counts = b.map(str.split).flatten().frequencies()
    assert sorted(c.compute(counts, sync=True)) == sorted(counts.compute(scheduler="sync"))
    assert dict(counts.compute())["the"] == 60


def test_delayed_pipeline(c):
    @dask.delayed
    def load(i):
        return list(range(i * 10, i * 10 + 10))

    @dask.delayed
    def clean(xs):
        return [x for x in xs if x % 3]

    @dask.delayed
    def summarize(parts):
        return {"count": sum(len(p) for p in parts), "total": sum(sum(p) for p in parts)}

    out = summarize([clean(load(i)) for i in range(8)])
    future = c.compute(out)
    assert isinstance(future, taskgrid.Future)
    assert future.result() == out.compute(scheduler="sync")


def test_dataframe_groupby(c):
    pdf = pd.DataFrame({"k": np.arange(1000) % 7, "v": np.arange(1000, dtype="float64"),
                        "w": np.random.RandomState(1).randint(0, 100, 1000)})
    import dask.dataframe as dd

    ddf = dd.from_pandas(pdf, npartitions=5)
    result = ddf.groupby("k").agg({"v": "sum", "w": "mean"}).compute()
    expected = pdf.groupby("k").agg({"v": "sum", "w": "mean"})
    pd.testing.assert_frame_equal(result.sort_index(), expected.sort_index())
    assert (ddf.v + ddf.w).sum().compute() == pytest.approx((pdf.v + pdf.w).sum())


def test_persist_then_compute(c):
    x = da.arange(10000, chunks=1000)
    p = c.persist(x * 2)
    futures = taskgrid.futures_of(p)
    assert len(futures) == 10
    taskgrid.wait(futures)
    assert all(f.status == "finished" for f in futures)
    assert int(p.sum().compute()) == int((x * 2).sum().compute(scheduler="sync"))


def test_graph_errors_reraise(c):
    def boom(x):
        raise KeyError("missing %s" % x)

    @dask.delayed
    def ok(x):
        return x

    with pytest.raises(KeyError, match="missing 1"):
        dask.delayed(boom)(ok(1)).compute()


def test_graph_callables_are_pickled_once_per_graph(monkeypatch):
    import pickle

    import cloudpickle
    from taskgrid import _dask

    real_dumps, pickled = cloudpickle.dumps, []

    def counting_dumps(obj, *args, **kwargs):
        pickled.append(obj)
        return real_dumps(obj, *args, **kwargs)

    monkeypatch.setattr(_dask.cloudpickle, "dumps", counting_dumps)
    offset = 10
    f = lambda x: x + offset  # noqa: E731 - a closure: pickled by value
    specs = _dask.graph_to_specs({("y", i): (f, i) for i in range(50)})
    assert len(specs) == 50
    assert sum(obj is f for obj in pickled) == 1
    # Every payload still evaluates to its own task (here: no dependencies).
    assert [pickle.loads(s.payload)() for s in specs[:3]] == [10, 11, 12]
