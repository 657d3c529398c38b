"""Makes the generated gRPC stubs of protos/taskgrid/v1 importable as
``taskgrid.v1``.

Stubs are never committed. They come from, in order:
  1. ``taskgrid/v1/*_pb2*.py`` inside this package (written by ``setup.py``
     at install time or by the CMake target ``taskgrid_python_stubs``);
  2. a per-user cache directory, generated on first import with grpc_tools
     from the .proto files of the source tree (or ``$TASKGRID_PROTO_DIR``),
     keyed by a hash of their contents so an edited proto regenerates.
"""
import hashlib
import os
import sys
import tempfile

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
_PROTO_FILES = ("common.proto", "scheduler.proto", "worker.proto", "jobs.proto")


def proto_root():
    """The directory holding taskgrid/v1/*.proto, or None."""
    candidates = [os.environ.get("TASKGRID_PROTO_DIR"),
                  os.path.join(_PACKAGE_DIR, "..", "..", "..", "protos")]
    for c in candidates:
        if c and os.path.isfile(os.path.join(c, "taskgrid", "v1", "common.proto")):
            return os.path.abspath(c)
    return None


def generate(proto_dir, out_dir):
    """Runs grpc_tools.protoc over the taskgrid.v1 protos into out_dir
    (which gets out_dir/taskgrid/v1/*_pb2*.py)."""
    from grpc_tools import protoc
    import grpc_tools

    well_known = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    files = [os.path.join("taskgrid", "v1", f) for f in _PROTO_FILES
             if os.path.exists(os.path.join(proto_dir, "taskgrid", "v1", f))]
    args = ["grpc_tools.protoc", "-I" + proto_dir, "-I" + well_known,
            "--python_out=" + out_dir, "--grpc_python_out=" + out_dir] + files
    if protoc.main(args) != 0:
        raise RuntimeError("grpc_tools.protoc failed on %s" % proto_dir)
    with open(os.path.join(out_dir, "taskgrid", "v1", "__init__.py"), "w") as f:
        f.write("# Generated gRPC stubs of taskgrid.v1 (not committed).\n")


def _cache_dir(proto_dir):
    h = hashlib.sha256()
    for f in _PROTO_FILES:
        path = os.path.join(proto_dir, "taskgrid", "v1", f)
        if os.path.exists(path):
            with open(path, "rb") as fh:
                h.update(fh.read())
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "taskgrid", "stubs-" + h.hexdigest()[:16])


def ensure(package):
    """Called by taskgrid/__init__.py with the package module."""
    if os.path.isfile(os.path.join(_PACKAGE_DIR, "v1", "scheduler_pb2_grpc.py")):
        return
    proto_dir = proto_root()
    if proto_dir is None:
        raise ImportError("taskgrid: no generated stubs and no protos/ directory; install "
                          "with `pip install clients/python` or set TASKGRID_PROTO_DIR")
    cache = _cache_dir(proto_dir)
    if not os.path.isfile(os.path.join(cache, "taskgrid", "v1", "scheduler_pb2_grpc.py")):
        os.makedirs(os.path.dirname(cache), exist_ok=True)
        tmp = tempfile.mkdtemp(prefix="stubs-", dir=os.path.dirname(cache))
        generate(proto_dir, tmp)
        try:
            os.rename(tmp, cache)
        except OSError:  # another process won the race: use its copy
            import shutil
            shutil.rmtree(tmp, ignore_errors=True)
    package.__path__.append(os.path.join(cache, "taskgrid"))
    sys.path_importer_cache.clear()
