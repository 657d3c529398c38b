"""Translating dask graphs into one taskgrid UpdateGraph.

One python-runtime TaskSpec per dask key: its payload is a pickled
_remote.DaskTask (the task expression and the keys it depends on), its
positional arguments are references to those keys, so the worker hands the
dependency values in and dask.core semantics evaluate the expression.
Keys become strings as in distributed (str() of tuple keys). Futures in a
graph (persisted collections) are used where they stand.

Callables are cloudpickled once per graph (_GraphPickler): a dask.array
graph repeats the same few functions and classes in thousands of tasks.
Each payload embeds those bytes, loaded on the worker by
taskgrid_worker.loads_cached (a module the worker defines: pickle.loads
with a cache by the bytes), so workers also unpickle them once.

Stateless; thread-safe.
"""
import io
import pickle
import sys
import types

import cloudpickle

from taskgrid import _remote
from taskgrid._future import Future
from taskgrid._tasks import alias_task, data_task
from taskgrid.v1 import common_pb2


def stringify(key):
    return key if type(key) is str else str(key)


def flatten_keys(keys):
    """The keys of a (nested lists of) keys, in order."""
    if isinstance(keys, list):
        for k in keys:
            yield from flatten_keys(k)
    else:
        yield keys


def pack(keys, values):
    """`keys`' nesting with each key replaced by values[key]."""
    if isinstance(keys, list):
        return [pack(k, values) for k in keys]
    return values[keys]


def _walk(x, keyset, deps, seen):
    """Collects the keys (and futures) task expression x depends on, and
    returns x with futures replaced by their (string) keys."""
    t = type(x)
    if t is tuple and x and callable(x[0]):
        return (x[0],) + tuple(_walk(a, keyset, deps, seen) for a in x[1:])
    if t is list:
        return [_walk(a, keyset, deps, seen) for a in x]
    if isinstance(x, Future):
        if x.key not in seen:
            seen.add(x.key)
            deps.append((x.key, x.key))
        return x.key
    try:
        hit = x in keyset
    except TypeError:  # unhashable literal
        return x
    if hit:
        s = stringify(x)
        if s not in seen:
            seen.add(s)
            deps.append((x, s))
    return x


def _worker_loader():
    """taskgrid_worker.loads_cached, defined here too (uncached) so this
    process can pickle references to it and load such pickles itself."""
    module = sys.modules.get("taskgrid_worker")
    if module is None:
        def loads_cached(b):
            return pickle.loads(b)

        loads_cached.__qualname__ = "loads_cached"
        loads_cached.__module__ = module_name = "taskgrid_worker"
        module = types.ModuleType(module_name)
        module.loads_cached = loads_cached
        sys.modules[module_name] = module
    return module.loads_cached


_LOADER = _worker_loader()


class _GraphPickler(cloudpickle.CloudPickler):
    """cloudpickle where each callable met (function, class, partial...) is
    pickled the first time only; later tasks of the graph embed those bytes,
    which the worker loads with taskgrid_worker.loads_cached. `memo` maps id(callable) to
    (callable, bytes): holding the callable keeps its id from being reused."""

    def __init__(self, file, memo):
        super().__init__(file, protocol=5)
        self._memo = memo

    def reducer_override(self, obj):
        if callable(obj) and obj is not _LOADER and type(obj) is not _remote.DaskTask:
            entry = self._memo.get(id(obj))
            if entry is None:
                entry = self._memo[id(obj)] = (obj, cloudpickle.dumps(obj, protocol=5))
            return _LOADER, (entry[1],)
        return super().reducer_override(obj)


def _dumps(obj, memo):
    buf = io.BytesIO()
    _GraphPickler(buf, memo).dump(obj)
    return buf.getvalue()


def graph_to_specs(dsk):
    """TaskSpecs for every key of dask graph `dsk` (a Mapping)."""
    from dask.utils import key_split

    keyset = set(dsk)
    specs = []
    memo = {}
    for key, task in dsk.items():
        skey = stringify(key)
        if isinstance(task, Future):
            if task.key != skey:
                specs.append(alias_task(skey, task.key))
            continue  # else the key exists already and this client holds it
        deps, seen = [], set()
        expr = _walk(task, keyset, deps, seen)
        if not deps and not (type(task) is tuple and task and callable(task[0])) \
                and type(task) is not list:
            specs.append(data_task(skey, task))  # a literal
            continue
        spec = common_pb2.TaskSpec(key=skey, runtime="python", function=key_split(key))
        spec.payload = _dumps(_remote.DaskTask(expr, [orig for orig, _ in deps]), memo)
        for _, dep in deps:
            spec.args.add().ref = dep
        specs.append(spec)
    return specs
