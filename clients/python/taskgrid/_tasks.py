"""Building taskgrid.v1.TaskSpecs for Python callables and dask graphs.

Stateless except for a small cache of pickled functions; thread-safe.
"""
import threading
import uuid

import cloudpickle

from taskgrid import _remote
from taskgrid._future import Future
from taskgrid._values import to_value, try_native
from taskgrid.v1 import common_pb2

cloudpickle.register_pickle_by_value(_remote)

_pickled_lock = threading.Lock()
_pickled = {}  # id(func) -> (func, payload): a map pickles its function once
_MAX_PICKLED = 256


def pickled_function(func):
    with _pickled_lock:
        hit = _pickled.get(id(func))
        if hit is not None and hit[0] is func:
            return hit[1]
    payload = cloudpickle.dumps(func, protocol=5)
    with _pickled_lock:
        if len(_pickled) >= _MAX_PICKLED:
            _pickled.clear()
        _pickled[id(func)] = (func, payload)
    return payload


def funcname(func):
    try:
        from dask.utils import funcname as dask_funcname

        return dask_funcname(func)
    except Exception:
        return getattr(func, "__name__", type(func).__name__)


def tokenize(*args, **kwargs):
    from dask.base import tokenize as dask_tokenize

    return dask_tokenize(*args, **kwargs)


def make_key(func, args, kwargs, pure, prefix=None):
    name = prefix or funcname(func)
    if pure:
        return "%s-%s" % (name, tokenize(func, kwargs, *args))
    return "%s-%s" % (name, uuid.uuid4().hex)


def strip_scheme(address):
    return address[len("tcp://"):] if address.startswith("tcp://") else address


def apply_options(spec, retries=0, priority=0, workers=None, allow_other_workers=False,
                  resources=None):
    spec.retries = int(retries or 0)
    spec.priority = int(priority or 0)
    if workers is not None:
        if isinstance(workers, str):
            workers = [workers]
        spec.workers.extend(strip_scheme(w) for w in workers)
    spec.allow_other_workers = bool(allow_other_workers)
    for name, amount in (resources or {}).items():
        spec.resources[name] = float(amount)
    return spec


def _ref_of(obj):
    return obj.key if isinstance(obj, Future) else None


def _has_futures(x, depth=0):
    if isinstance(x, Future):
        return True
    if depth > 50:
        return False
    t = type(x)
    if t in (list, tuple, set, frozenset):
        return any(_has_futures(i, depth + 1) for i in x)
    if t is dict:
        return any(_has_futures(k, depth + 1) or _has_futures(v, depth + 1) for k, v in x.items())
    return False


def _with_placeholders(x, keys):
    if isinstance(x, Future):
        keys.append(x.key)
        return _remote.Dep(len(keys) - 1)
    t = type(x)
    if t in (list, tuple, set, frozenset):
        return t(_with_placeholders(i, keys) for i in x)
    if t is dict:
        return {_with_placeholders(k, keys): _with_placeholders(v, keys) for k, v in x.items()}
    return x


def python_task(key, func, args, kwargs, **options):
    """A python-runtime TaskSpec calling func(*args, **kwargs); futures in
    the arguments become dependencies."""
    spec = common_pb2.TaskSpec(key=key, runtime="python", function=funcname(func))
    native_args = [try_native(a, _ref_of) for a in args]
    native_kwargs = {k: try_native(v, _ref_of) for k, v in kwargs.items()}
    opaque = [a for a, v in zip(args, native_args) if v is None]
    opaque += [kwargs[k] for k, v in native_kwargs.items() if v is None]
    if any(_has_futures(a) for a in opaque):
        # Futures inside tuples, sets, ...: ship the call with placeholders,
        # and the dependencies as the task's positional references.
        keys = []
        targs = _with_placeholders(tuple(args), keys)
        tkwargs = _with_placeholders(dict(kwargs), keys)
        spec.payload = cloudpickle.dumps(_remote.ApplyWithDeps(func, targs, tkwargs), protocol=5)
        for k in keys:
            spec.args.add().ref = k
        return apply_options(spec, **options)
    spec.payload = pickled_function(func)
    for a, v in zip(args, native_args):
        spec.args.append(v if v is not None else to_value(a))
    for k, v in native_kwargs.items():
        spec.kwargs[k].CopyFrom(v if v is not None else to_value(kwargs[k]))
    return apply_options(spec, **options)


def data_task(key, data, **options):
    """A task holding `data` (a literal in a graph): the builtin identity of
    its Value."""
    spec = common_pb2.TaskSpec(key=key, runtime="builtin", function="identity")
    spec.args.append(to_value(data))
    return apply_options(spec, **options)


def alias_task(key, target_key):
    spec = common_pb2.TaskSpec(key=key, runtime="builtin", function="identity")
    spec.args.add().ref = target_key
    return spec
