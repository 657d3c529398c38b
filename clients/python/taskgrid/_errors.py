"""Turns a remote TaskError into the exception a Dask user expects.

The worker reports the exception's class as "Name" for builtins and
"module.Qualname" otherwise; the client re-raises the same class when it
can import it (and construct it from the message), else a stand-in
subclass of Exception with that name. str(exc) is the remote message; the
remote traceback is attached as a note (shown under the local traceback)
and as ``exc.remote_traceback``.
"""
import builtins
import concurrent.futures
import importlib


class RemoteError(Exception):
    """Stand-in for a remote exception class the client cannot import."""


class KilledWorker(Exception):
    """A task was running on too many workers that died."""


class FutureLost(Exception):
    """The result is gone (its holders died) and cannot be recomputed."""


_KNOWN = {
    "CancelledError": concurrent.futures.CancelledError,
    "KilledWorker": KilledWorker,
    "TimeoutError": TimeoutError,
}
_standins = {}


def _find_class(type_name):
    if type_name in _KNOWN:
        return _KNOWN[type_name]
    module, _, name = type_name.rpartition(".")
    try:
        obj = importlib.import_module(module) if module else builtins
        for part in name.split("."):
            obj = getattr(obj, part)
    except Exception:
        return None
    return obj if isinstance(obj, type) and issubclass(obj, BaseException) else None


def _standin(type_name):
    cls = _standins.get(type_name)
    if cls is None:
        cls = type(type_name.rpartition(".")[2] or "RemoteError", (RemoteError,),
                   {"__module__": "taskgrid.remote", "remote_type": type_name})
        _standins[type_name] = cls
    return cls


def exception_from(error, key=None):
    """An exception instance for a TaskError message (or None)."""
    type_name = error.type or "RemoteError"
    message = error.message
    cls = _find_class(type_name)
    exc = None
    if cls is not None:
        try:
            exc = cls(message)
        except Exception:
            exc = None
    if exc is None:
        exc = _standin(type_name)(message)
    tb = error.traceback
    exc.remote_traceback = tb
    exc.task_key = error.key or key
    exc.cause_key = error.cause_key
    if not (error.key or error.function or tb):
        return exc  # the client's own (a rejected graph, a lost scheduler): no task ran
    note = "task %r (function %s) failed on a taskgrid worker" % (error.key or key,
                                                                  error.function or "?")
    if error.cause_key:
        note += " because its dependency %r failed" % error.cause_key
    if tb:
        note += "\nRemote traceback:\n" + tb.rstrip()
    if hasattr(exc, "add_note"):
        exc.add_note(note)
    else:  # Python < 3.11
        exc.args = exc.args + (note,)
    return exc
