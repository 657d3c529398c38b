#!/usr/bin/env python3
"""Submit a JSON task graph to the taskgrid gateway's gRPC Jobs API.

Uses only grpcio and stubs generated from protos/taskgrid/v1/*.proto:

    python3 -m grpc_tools.protoc -I protos --python_out=STUBS \
        --grpc_python_out=STUBS protos/taskgrid/v1/*.proto
    PYTHONPATH=STUBS python3 jobs_client.py 127.0.0.1:8788 graph.json [--token T]

(When the stubs are not importable and grpc_tools is installed, the script
generates them into a temporary directory itself.)

Prints one "KEY VALUE" line per wanted key (values as JSON) and exits 1 when
a key failed.
"""

import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile

import grpc

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def import_stubs():
    try:
        from taskgrid.v1 import common_pb2, jobs_pb2, jobs_pb2_grpc
    except ImportError:
        out = tempfile.mkdtemp(prefix="taskgrid-stubs-")
        protos = os.path.join(REPO, "protos")
        files = [os.path.join(protos, "taskgrid", "v1", f)
                 for f in ("common.proto", "jobs.proto")]
        subprocess.run([sys.executable, "-m", "grpc_tools.protoc", "-I", protos,
                        "--python_out", out, "--grpc_python_out", out] + files, check=True)
        sys.path.insert(0, out)
        from taskgrid.v1 import common_pb2, jobs_pb2, jobs_pb2_grpc
    return common_pb2, jobs_pb2, jobs_pb2_grpc


common_pb2, jobs_pb2, jobs_pb2_grpc = import_stubs()


def to_value(j):
    """JSON argument -> taskgrid.v1.Value ({"ref": K} and {"b64": ...} as in REST)."""
    v = common_pb2.Value()
    if j is None:
        v.null_value.SetInParent()
    elif isinstance(j, bool):
        v.bool_value = j
    elif isinstance(j, int):
        v.int_value = j
    elif isinstance(j, float):
        v.double_value = j
    elif isinstance(j, str):
        v.string_value = j
    elif isinstance(j, list):
        v.list_value.SetInParent()
        for item in j:
            v.list_value.items.append(to_value(item))
    elif isinstance(j, dict) and set(j) == {"ref"}:
        v.ref = j["ref"]
    elif isinstance(j, dict) and set(j) == {"b64"}:
        v.bytes_value = base64.b64decode(j["b64"])
    elif isinstance(j, dict):
        v.map_value.SetInParent()
        for k, item in j.items():
            v.map_value.entries[k].CopyFrom(to_value(item))
    else:
        raise TypeError("cannot convert %r" % (j,))
    return v


def from_value(v):
    """taskgrid.v1.Value -> something json.dumps can print."""
    kind = v.WhichOneof("kind")
    if kind in (None, "null_value"):
        return None
    if kind in ("bool_value", "int_value", "double_value", "string_value"):
        return getattr(v, kind)
    if kind in ("bytes_value", "pickle_value"):
        return {"b64": base64.b64encode(getattr(v, kind)).decode()}
    if kind == "list_value":
        return [from_value(x) for x in v.list_value.items]
    if kind == "map_value":
        return {k: from_value(x) for k, x in v.map_value.entries.items()}
    if kind == "array_value":
        a = v.array_value
        return {"dtype": a.dtype, "shape": list(a.shape), "b64": base64.b64encode(a.data).decode()}
    return {kind: getattr(v, kind)}


def build_request(graph):
    req = jobs_pb2.SubmitJobRequest(name="python-example", priority=graph.get("priority", 0))
    for key, t in graph["tasks"].items():
        spec = req.tasks.add(key=key, function=t["fn"], runtime=t.get("runtime", ""),
                             retries=t.get("retries", 0))
        for a in t.get("args", []):
            spec.args.append(to_value(a))
        for k, a in t.get("kwargs", {}).items():
            spec.kwargs[k].CopyFrom(to_value(a))
        for name, amount in t.get("resources", {}).items():
            spec.resources[name] = amount
    req.keys.extend(graph.get("keys", []))
    return req


def fetch(stub, job_id, key, metadata):
    data = bytearray()
    for chunk in stub.GetResult(jobs_pb2.GetResultRequest(job_id=job_id, key=key),
                                metadata=metadata):
        if chunk.offset != len(data):
            raise RuntimeError("chunk of %s at offset %d, expected %d" % (key, chunk.offset, len(data)))
        data += chunk.data
    value = common_pb2.Value()
    value.ParseFromString(bytes(data))
    return from_value(value)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("gateway", help="gRPC address of taskgrid-gateway, e.g. 127.0.0.1:8788")
    parser.add_argument("graph", help="JSON graph file (the REST format)")
    parser.add_argument("--token", default=os.environ.get("TASKGRID_TOKEN", ""))
    args = parser.parse_args()
    metadata = [("authorization", "Bearer " + args.token)] if args.token else []
    with open(args.graph) as f:
        graph = json.load(f)

    with grpc.insecure_channel(args.gateway) as channel:
        stub = jobs_pb2_grpc.JobsStub(channel)
        job = stub.SubmitJob(build_request(graph), metadata=metadata)
        print("job", job.id, file=sys.stderr)
        # WatchJob ends when the job is done.
        for event in stub.WatchJob(jobs_pb2.GetJobRequest(id=job.id), metadata=metadata):
            if event.HasField("key"):
                print("  %s: %s" % (event.key.key,
                                    common_pb2.KeyState.Name(event.key.state)), file=sys.stderr)
        job = stub.GetJob(jobs_pb2.GetJobRequest(id=job.id), metadata=metadata)
        failed = False
        for k in job.keys:
            if k.state == common_pb2.KEY_STATE_MEMORY:
                print(k.key, json.dumps(fetch(stub, job.id, k.key, metadata)))
            else:
                failed = True
                print(k.key, "ERROR", common_pb2.KeyState.Name(k.state), k.error.message)
        workers = stub.ListWorkers(jobs_pb2.ListWorkersRequest(), metadata=metadata)
        print("workers:", ", ".join(w.address for w in workers.workers), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
