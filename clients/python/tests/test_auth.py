"""A scheduler started with --token-file: the Python client's token
argument (or TASKGRID_TOKEN) gets it served, anything else UNAUTHENTICATED."""

import pytest

import taskgrid
from cluster import LocalCluster


def inc(x):
    return x + 1


@pytest.fixture(scope="module")
def token_cluster():
    cluster = LocalCluster([{"nthreads": 1}], token="py-secret")
    yield cluster
    cluster.close()


def test_right_token_runs_tasks(token_cluster):
    with taskgrid.Client(token_cluster.scheduler_address, set_as_default=False,
                         token="py-secret") as c:
        assert c.submit(inc, 41).result(timeout=30) == 42


@pytest.mark.parametrize("token", [None, "wrong"])
def test_missing_or_wrong_token_is_unauthenticated(token_cluster, token, monkeypatch):
    monkeypatch.delenv("TASKGRID_TOKEN", raising=False)
    with pytest.raises(PermissionError) as info:
        taskgrid.Client(token_cluster.scheduler_address, set_as_default=False, token=token)
    assert "UNAUTHENTICATED" in str(info.value)
    assert "bearer token" in str(info.value)
    # The scheduler keeps serving clients with the token.
    with taskgrid.Client(token_cluster.scheduler_address, set_as_default=False,
                         token="py-secret") as ok:
        assert ok.submit(inc, 1).result(timeout=30) == 2
