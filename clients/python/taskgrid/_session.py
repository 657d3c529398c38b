"""The client's one Scheduler.ClientSession stream.

Outgoing messages are queued; the request iterator gRPC pulls from sends
everything queued when the stream is ready as one ClientBatch (no timers).
Incoming ClientEventBatches are handed to `on_events` on the session's
reader thread, in order; `on_closed(error)` runs once when the stream ends.

Thread-safety: send() may be called from any thread.
"""
import queue
import threading

from taskgrid.v1 import scheduler_pb2

_CLOSE = object()


class Session:
    def __init__(self, stub, hello, on_events, on_closed):
        self._queue = queue.SimpleQueue()
        self._on_events = on_events
        self._on_closed = on_closed
        self._closed = threading.Event()
        first = scheduler_pb2.ClientMessage(hello=hello)
        self._queue.put(first)
        self._call = stub.ClientSession(self._requests())
        self._reader = threading.Thread(target=self._read, name="taskgrid-session", daemon=True)
        self._reader.start()

    def send(self, message):
        """Queues one ClientMessage."""
        if not self._closed.is_set():
            self._queue.put(message)

    def _requests(self):
        while True:
            msg = self._queue.get()
            if msg is _CLOSE:
                return
            batch = scheduler_pb2.ClientBatch()
            batch.messages.append(msg)
            closing = False
            while True:  # everything else already queued goes in this batch
                try:
                    msg = self._queue.get_nowait()
                except queue.Empty:
                    break
                if msg is _CLOSE:
                    closing = True
                    break
                batch.messages.append(msg)
            yield batch
            if closing:
                return

    def _read(self):
        error = None
        try:
            for batch in self._call:
                self._on_events(batch)
        except Exception as e:  # grpc.RpcError on disconnect/cancel
            error = e
        finally:
            self._closed.set()
            # Ends the request iterator, whose gRPC thread would otherwise
            # wait on the queue forever (one per reconnect attempt).
            self._queue.put(_CLOSE)
            self._on_closed(error)

    def close(self, timeout=2.0):
        """Half-closes the stream and waits for the scheduler to end it."""
        if self._closed.is_set():
            return
        self._queue.put(_CLOSE)
        self._reader.join(timeout)
        if self._reader.is_alive():
            self._call.cancel()
            self._reader.join(timeout)
