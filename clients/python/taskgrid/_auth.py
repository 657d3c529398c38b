"""Bearer tokens on every call of a channel, for services started with
--token-file: ``authorization: Bearer TOKEN`` metadata, the same header the
C++ processes send (common/grpc_auth.h)."""

import collections
import os

import grpc


class _CallDetails(collections.namedtuple(
        "_CallDetails", ("method", "timeout", "metadata", "credentials",
                         "wait_for_ready", "compression")), grpc.ClientCallDetails):
    pass


class _TokenInterceptor(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor,
                        grpc.StreamUnaryClientInterceptor, grpc.StreamStreamClientInterceptor):
    def __init__(self, token):
        self._header = ("authorization", "Bearer " + token)

    def _details(self, d):
        metadata = list(d.metadata or [])
        if not any(k == "authorization" for k, _ in metadata):
            metadata.append(self._header)
        return _CallDetails(d.method, d.timeout, metadata, d.credentials,
                            getattr(d, "wait_for_ready", None), getattr(d, "compression", None))

    def intercept_unary_unary(self, continuation, details, request):
        return continuation(self._details(details), request)

    def intercept_unary_stream(self, continuation, details, request):
        return continuation(self._details(details), request)

    def intercept_stream_unary(self, continuation, details, requests):
        return continuation(self._details(details), requests)

    def intercept_stream_stream(self, continuation, details, requests):
        return continuation(self._details(details), requests)


def resolve_token(token=None):
    """The token argument, else the TASKGRID_TOKEN environment variable, else None."""
    return token or os.environ.get("TASKGRID_TOKEN") or None


def with_token(channel, token):
    """`channel` sending `token` on every call (unchanged when token is None)."""
    if not token:
        return channel
    return grpc.intercept_channel(channel, _TokenInterceptor(token))
