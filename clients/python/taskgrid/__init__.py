"""taskgrid: a Dask.distributed-compatible client for taskgrid clusters.

    from taskgrid import Client          # instead of: from distributed import Client
    client = Client("127.0.0.1:8786")    # or $TASKGRID_SCHEDULER_ADDRESS
    client.submit(sum, [1, 2]).result()  # 3
"""
from taskgrid import _stubs

_stubs.ensure(__import__(__name__))

from taskgrid._client import Client, default_client  # noqa: E402
from taskgrid._errors import FutureLost, KilledWorker, RemoteError  # noqa: E402
from taskgrid._executor import TaskgridExecutor  # noqa: E402
from taskgrid._future import Future  # noqa: E402
from taskgrid._progress import progress  # noqa: E402
from taskgrid._waiting import (ALL_COMPLETED, FIRST_COMPLETED, FIRST_EXCEPTION,  # noqa: E402
                               as_completed, futures_of, wait)

__version__ = "0.1.0"
__all__ = ["Client", "Future", "TaskgridExecutor", "as_completed", "wait", "progress",
           "futures_of", "default_client", "FIRST_COMPLETED", "ALL_COMPLETED",
           "FIRST_EXCEPTION", "FutureLost", "KilledWorker", "RemoteError"]
