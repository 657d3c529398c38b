"""Scatter's bulk path: values go from this client straight to the workers
with Worker.PutData, chunked like the workers' own streams (1 MiB chunks,
the value's checksum on its last chunk) and marked with the client's id, so
the worker leaves it to this client to tell the scheduler (UpdateData).

The checksum is CRC-32/IEEE (DataChunk.checksum = CRC32), which zlib
computes at memory speed, rather than the workers' default CRC-32C, which
Python's standard library lacks (pure Python or numpy ran at ~60 MB/s and
bounded scatter of large arrays). Workers verify either.

Stateless functions; thread-safe.
"""
import zlib

from taskgrid._values import to_value
from taskgrid.v1 import worker_pb2

CHUNK_BYTES = 1 << 20


def encode(obj):
    """The serialized taskgrid.v1.Value of obj."""
    return to_value(obj).SerializeToString()


def _chunks(items, client_id):
    for key, data in items:
        total = len(data)
        offset = 0
        crc = 0
        while True:
            end = min(total, offset + CHUNK_BYTES)
            last = end == total
            piece = data[offset:end]
            crc = zlib.crc32(piece, crc)  # while the piece is in cache
            yield worker_pb2.DataChunk(key=key, total_bytes=total, offset=offset,
                                       data=piece, last=last, crc32c=crc if last else 0,
                                       checksum=worker_pb2.DataChunk.CRC32,
                                       client_id=client_id)
            if last:
                break
            offset = end


def push(stub, items, client_id, timeout=None):
    """Stores [(key, encoded value)] on the worker behind `stub`; returns
    the KeyLocations it reports (raises grpc.RpcError on failure)."""
    reply = stub.PutData(_chunks(items, client_id), timeout=timeout)
    return list(reply.stored)
