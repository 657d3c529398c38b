"""Future: a handle on one key's result, as distributed.Future.

Futures of the same key share one _KeyState; the client counts live Future
objects per key and releases the key on the scheduler when the last one is
garbage-collected (or released explicitly).

Thread-safety: all methods may be called from any thread. _KeyState is
guarded by its client's lock; waiting uses a threading.Event.
"""
import concurrent.futures
import threading

# Future.status values, as in Dask.
PENDING, FINISHED, ERROR, CANCELLED, LOST = "pending", "finished", "error", "cancelled", "lost"


class _KeyState:
    __slots__ = ("key", "status", "event", "workers", "nbytes", "type_name", "error",
                 "callbacks", "no_worker", "graph")

    def __init__(self, key):
        self.key = key
        self.status = PENDING
        self.event = threading.Event()
        self.workers = []
        self.nbytes = 0
        self.type_name = ""
        self.error = None  # a TaskError message
        self.callbacks = []
        self.no_worker = None  # the TaskError of a NO_WORKER event, while pending
        # The client's PendingGraph that declared the key, kept (to send
        # again after a scheduler restart) until the key is resolved.
        self.graph = None


class Future:
    """The result of a task, computed remotely."""

    def __init__(self, key, client, state=None, _inform=True):
        self.key = key
        self.client = client
        self._state = state if state is not None else client._state_for(key)
        if _inform:
            client._inc_ref(key)
        self._released = False

    # -- state
    @property
    def status(self):
        return self._state.status

    def done(self):
        """Whether the computation finished (successfully, erred or cancelled)."""
        return self._state.event.is_set()

    def cancelled(self):
        return self._state.status == CANCELLED

    def _wait(self, timeout):
        if not self._state.event.wait(timeout):
            raise TimeoutError("future %r not done within %s s" % (self.key, timeout))

    # -- results
    def result(self, timeout=None):
        """The value (fetched from a worker); raises the remote exception."""
        self._wait(timeout)
        status = self._state.status
        if status == FINISHED:
            return self.client._fetch_one(self)
        raise self._exception_now()

    def exception(self, timeout=None):
        """The remote exception of an erred future, else None."""
        self._wait(timeout)
        if self._state.status == FINISHED:
            return None
        return self._exception_now()

    def traceback(self, timeout=None):
        """The remote traceback text of an erred future, else None."""
        self._wait(timeout)
        error = self._state.error
        return error.traceback if error is not None and error.traceback else None

    def _exception_now(self):
        from taskgrid._errors import exception_from, FutureLost

        state = self._state
        if state.status == CANCELLED:
            return concurrent.futures.CancelledError(self.key)
        if state.status == LOST and (state.error is None or not state.error.type):
            return FutureLost("result of %r was lost" % self.key)
        if state.error is not None:
            return exception_from(state.error, self.key)
        return RuntimeError("future %r is %s" % (self.key, state.status))

    # -- control
    def cancel(self, **kwargs):
        return self.client.cancel([self], **kwargs)

    def add_done_callback(self, fn):
        """Calls fn(future) once the future is done (on a client thread)."""
        self.client._add_callback(self, fn)

    def release(self):
        if not self._released:
            self._released = True
            self.client._dec_ref(self.key)

    def __del__(self):
        try:
            self.release()
        except Exception:  # interpreter shutdown
            pass

    def __dask_tokenize__(self):
        return self.key

    def __getstate__(self):
        raise TypeError("a taskgrid Future cannot be pickled; pass it as a task argument "
                        "(it becomes a reference) or gather its result")

    def __repr__(self):
        extra = ""
        if self._state.status == FINISHED and self._state.type_name:
            extra = ", type: %s" % self._state.type_name
        return "<Future: %s%s, key: %s>" % (self._state.status, extra, self.key)

    def __await__(self):
        raise TypeError("the taskgrid client is synchronous; call .result()")

