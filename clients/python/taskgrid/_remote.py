"""Code that runs on the workers' embedded Python.

Workers need not have the taskgrid package installed, so this module is
pickled by value (cloudpickle.register_pickle_by_value in _tasks.py): keep
it small and free of imports of the rest of taskgrid.
"""


class Dep:
    """Placeholder for the i-th dependency of a task whose arguments could
    not travel natively (futures inside tuples, sets, custom objects)."""

    __slots__ = ("index",)

    def __init__(self, index):
        self.index = index

    def __reduce__(self):
        return (Dep, (self.index,))


def _fill(x, values):
    t = type(x)
    if t is Dep:
        return values[x.index]
    if t in (list, tuple, set, frozenset):
        return t(_fill(i, values) for i in x)
    if t is dict:
        return {_fill(k, values): _fill(v, values) for k, v in x.items()}
    return x


class ApplyWithDeps:
    """Calls func(*args, **kwargs) after putting the dependency values (the
    task's positional Values) in place of the Dep placeholders."""

    def __init__(self, func, args, kwargs):
        self.func, self.args, self.kwargs = func, args, kwargs

    def __call__(self, *values):
        return self.func(*_fill(self.args, values), **_fill(self.kwargs, values))


class DaskTask:
    """Evaluates one dask task (dask.core semantics: tuples (func, *args)
    with keys nested anywhere) given the values of its dependencies, which
    arrive as the task's positional arguments in the order of `keys`."""

    def __init__(self, task, keys):
        self.task, self.keys = task, keys

    def __call__(self, *values):
        from dask.core import _execute_task

        return _execute_task(self.task, dict(zip(self.keys, values)))
