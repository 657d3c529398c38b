"""TaskgridExecutor: concurrent.futures.Executor on a taskgrid Client.

Thread-safety: like Client.
"""
import concurrent.futures
import threading


class TaskgridExecutor(concurrent.futures.Executor):
    """``with client.executor() as ex: ex.submit(fn, x).result()``; map()
    comes from concurrent.futures.Executor."""

    def __init__(self, client=None, **submit_options):
        if client is None:
            from taskgrid._client import default_client

            client = default_client()
        self._client = client
        self._options = dict(submit_options)
        self._options.setdefault("pure", False)  # executors run each call
        self._lock = threading.Lock()
        self._futures = set()
        self._shutdown = False

    def submit(self, fn, /, *args, **kwargs):
        with self._lock:
            if self._shutdown:
                raise RuntimeError("cannot schedule new futures after shutdown")
        tg = self._client.submit(fn, *args, **self._options, **kwargs)
        cf = concurrent.futures.Future()
        cf._taskgrid_future = tg  # holds the key while the caller holds cf
        cf.set_running_or_notify_cancel()
        with self._lock:
            self._futures.add(tg)

        def transfer(done):
            try:
                cf.set_result(done.result())
            except BaseException as e:  # the remote exception, re-raised
                cf.set_exception(e)
            with self._lock:
                self._futures.discard(done)

        tg.add_done_callback(transfer)
        return cf

    def shutdown(self, wait=True, *, cancel_futures=False):
        with self._lock:
            self._shutdown = True
            pending = list(self._futures)
        if cancel_futures and pending:
            self._client.cancel(pending)
        if wait:
            for f in pending:
                f._state.event.wait()
