"""Generates the taskgrid.v1 gRPC stubs from ../../protos into the package
(they are not committed) before setuptools looks for its packages."""
import os
import sys

from setuptools import setup

HERE = os.path.dirname(os.path.abspath(__file__))


def generate_stubs():
    sys.path.insert(0, os.path.join(HERE, "taskgrid"))
    import _stubs  # taskgrid/_stubs.py, without importing the package

    proto_dir = _stubs.proto_root()
    if proto_dir is not None:
        _stubs.generate(proto_dir, HERE)
    elif not os.path.isfile(os.path.join(HERE, "taskgrid", "v1", "scheduler_pb2.py")):
        raise SystemExit("taskgrid: protos/ not found; set TASKGRID_PROTO_DIR")


generate_stubs()
setup()
