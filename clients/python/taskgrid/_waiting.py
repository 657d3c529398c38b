"""wait() and as_completed(), as in distributed.

Thread-safety: as_completed may be fed (add/update) from any thread while
one thread iterates it.
"""
import collections
import threading
import time

from taskgrid._future import Future

FIRST_COMPLETED = "FIRST_COMPLETED"
ALL_COMPLETED = "ALL_COMPLETED"
FIRST_EXCEPTION = "FIRST_EXCEPTION"

DoneAndNotDoneFutures = collections.namedtuple("DoneAndNotDoneFutures", "done not_done")


def futures_of(x):
    """The futures inside x (nested containers or a persisted collection)."""
    out, stack, seen = [], [x], set()
    while stack:
        item = stack.pop()
        if isinstance(item, Future):
            if id(item) not in seen:
                seen.add(id(item))
                out.append(item)
        elif type(item) in (list, tuple, set, frozenset):
            stack.extend(item)
        elif type(item) is dict:
            stack.extend(item.values())
        elif hasattr(item, "__dask_graph__"):
            stack.extend(v for v in item.__dask_graph__().values() if isinstance(v, Future))
    return out[::-1]


def wait(fs, timeout=None, return_when=ALL_COMPLETED):
    """Waits until all (or the first of) `fs` are done; returns
    DoneAndNotDoneFutures. Raises TimeoutError after `timeout` seconds."""
    if isinstance(fs, Future):
        fs = [fs]
    fs = futures_of(fs) if not isinstance(fs, list) else fs
    deadline = None if timeout is None else time.monotonic() + timeout
    if return_when == ALL_COMPLETED:
        for f in fs:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not f._state.event.wait(left):
                raise TimeoutError("%d of %d futures not done within %s s"
                                   % (sum(not g.done() for g in fs), len(fs), timeout))
    else:
        ready = threading.Event()

        def first(_):
            ready.set()

        if not any(f.done() for f in fs):
            for f in fs:
                f.add_done_callback(first)
            if not ready.wait(timeout) and not any(f.done() for f in fs):
                raise TimeoutError("no future done within %s s" % timeout)
    done = {f for f in fs if f.done()}
    return DoneAndNotDoneFutures(done, {f for f in fs if f not in done})


class as_completed:
    """Iterates over futures in the order they finish; more can be added
    while iterating. with_results=True yields (future, result) pairs."""

    def __init__(self, futures=None, with_results=False, raise_errors=True):
        self._cond = threading.Condition()
        self._done = collections.deque()
        self._pending = 0
        self.with_results = with_results
        self.raise_errors = raise_errors
        for f in futures or ():
            self.add(f)

    def add(self, future):
        with self._cond:
            self._pending += 1
        future.add_done_callback(self._on_done)

    def update(self, futures):
        for f in futures:
            self.add(f)

    def _on_done(self, future):
        with self._cond:
            self._pending -= 1
            self._done.append(future)
            self._cond.notify_all()

    def count(self):
        with self._cond:
            return self._pending + len(self._done)

    def is_empty(self):
        return self.count() == 0

    def has_ready(self):
        with self._cond:
            return bool(self._done)

    def __len__(self):
        return self.count()

    def __iter__(self):
        return self

    def _wrap(self, f):
        if not self.with_results:
            return f
        try:
            return f, f.result()
        except Exception as e:
            if self.raise_errors:
                raise
            return f, e

    def __next__(self):
        with self._cond:
            while not self._done:
                if self._pending == 0:
                    raise StopIteration
                self._cond.wait()
            f = self._done.popleft()
        return self._wrap(f)

    def next_batch(self, block=True):
        """Every future finished so far (at least one when block)."""
        with self._cond:
            while block and not self._done and self._pending:
                self._cond.wait()
            batch = list(self._done)
            self._done.clear()
        return [self._wrap(f) for f in batch]

    def batches(self):
        while True:
            batch = self.next_batch(block=True)
            if not batch:
                return
            yield batch
