"""Conversions between Python objects and taskgrid.v1.Value messages.

The same rules as the worker's python runtime (services/worker/
python_convert.h): an object built only from None, bool, int (64-bit),
float, str, bytes, list, dict with str keys (in sorted order) and numpy
arrays of a taskgrid dtype travels natively; anything else travels as a
cloudpickle, so it comes back exactly as it was. Futures inside lists and
dicts become ``ref`` values (dependencies).
"""
import pickle

import cloudpickle

try:
    import numpy as np
except ImportError:  # numpy is optional on the client
    np = None

from taskgrid.v1 import common_pb2

_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1
_DTYPES = {"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
           "float32", "float64"}
_MAX_DEPTH = 64


class _NotNative(Exception):
    pass


def _native(obj, out, ref_of, depth):
    """Fills Value `out` from obj or raises _NotNative."""
    if depth > _MAX_DEPTH:
        raise _NotNative
    t = type(obj)
    if obj is None:
        out.null_value.SetInParent()
    elif t is bool:
        out.bool_value = obj
    elif t is int:
        if not _INT64_MIN <= obj <= _INT64_MAX:
            raise _NotNative
        out.int_value = obj
    elif t is float:
        out.double_value = obj
    elif t is str:
        try:
            obj.encode("utf-8")
        except UnicodeEncodeError:
            raise _NotNative
        out.string_value = obj
    elif t is bytes:
        out.bytes_value = obj
    elif t is list:
        items = out.list_value.items
        out.list_value.SetInParent()
        for x in obj:
            _native(x, items.add(), ref_of, depth + 1)
    elif t is dict:
        keys = list(obj)
        if any(type(k) is not str for k in keys) or keys != sorted(keys):
            raise _NotNative
        out.map_value.SetInParent()
        entries = out.map_value.entries
        for k in keys:
            _native(obj[k], entries[k], ref_of, depth + 1)
    elif np is not None and t is np.ndarray:
        if obj.dtype.name not in _DTYPES or obj.dtype.byteorder == ">":
            raise _NotNative
        a = out.array_value
        a.dtype = obj.dtype.name
        a.shape.extend(obj.shape)
        a.data = np.ascontiguousarray(obj).tobytes()
    else:
        key = ref_of(obj) if ref_of is not None else None
        if key is None:
            raise _NotNative
        out.ref = key
    return out


def to_value(obj, ref_of=None):
    """A Value for obj: native if possible, else a pickle. `ref_of(obj)`
    returns a key for objects that stand for one (futures), else None."""
    v = common_pb2.Value()
    try:
        return _native(obj, v, ref_of, 0)
    except _NotNative:
        v.Clear()
        v.pickle_value = cloudpickle.dumps(obj, protocol=5)
        return v


def try_native(obj, ref_of=None):
    """A native Value for obj, or None when some part needs pickling."""
    v = common_pb2.Value()
    try:
        return _native(obj, v, ref_of, 0)
    except _NotNative:
        return None


def from_value(v):
    """The Python object a Value stands for (refs are an error here)."""
    kind = v.WhichOneof("kind")
    if kind is None or kind == "null_value":
        return None
    if kind == "bool_value":
        return v.bool_value
    if kind == "int_value":
        return v.int_value
    if kind == "double_value":
        return v.double_value
    if kind == "string_value":
        return v.string_value
    if kind == "bytes_value":
        return v.bytes_value
    if kind == "list_value":
        return [from_value(x) for x in v.list_value.items]
    if kind == "map_value":
        return {k: from_value(v.map_value.entries[k]) for k in sorted(v.map_value.entries)}
    if kind == "array_value":
        a = v.array_value
        if np is None:
            raise ImportError("numpy is needed to receive an array result")
        # A writable array that owns its memory, like a dask result.
        arr = np.frombuffer(a.data, dtype=np.dtype(a.dtype).newbyteorder("<"))
        return arr.reshape(tuple(a.shape)).copy()
    if kind == "pickle_value":
        return pickle.loads(v.pickle_value)
    raise ValueError("unexpected reference to key %r in a result" % v.ref)


def decode(data):
    """The object in a serialized Value (bytes from Worker.GetData)."""
    v = common_pb2.Value()
    v.ParseFromString(data)
    return from_value(v)
