"""Keeping a Client's work across scheduler restarts (mixed into Client).

When the session stream drops with a status that retrying may fix, a
background thread opens new sessions, each on a fresh channel (so gRPC's own
connection backoff never delays it), pausing 0.2 s, then twice as long up to
1 s, between attempts, until one is welcomed or the reconnect timeout
passes. Its hello (reconnecting=True) re-declares the keys the client holds
whose graphs it no longer keeps (results it was told are in memory, keys it
waits for without a graph); once welcomed, every graph that still has a
pending key is sent again exactly as first sent. The scheduler adopts the
results re-registering workers report, so what survived is not computed
again. Pending futures stay pending meanwhile; when the timeout passes they
fail with a ConnectionError naming the scheduler and the timeout. The
protocol is the C++ client's (clients/cpp/client_reconnect.cc).

Invariant: a _KeyState's `graph` is set only while the key is pending; a
PendingGraph stays in Client._graphs while any key it declared is.

Thread-safety: the methods marked "REQUIRES: the client's lock" are called
with it held; the reconnect thread takes it itself and waits, opens
sessions and closes replaced ones without it.
"""
import functools
import logging
import os
import threading
import time

import grpc

from taskgrid._future import CANCELLED, FINISHED, LOST, PENDING
from taskgrid._session import Session
from taskgrid.v1 import common_pb2, scheduler_pb2

_log = logging.getLogger("taskgrid")

DEFAULT_TIMEOUT = 60.0
# The scheduler refused this client (or a newer stream took its session
# over): trying again would not help.
_FINAL_CODES = frozenset({
    grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED,
    grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.UNIMPLEMENTED, grpc.StatusCode.ABORTED, grpc.StatusCode.ALREADY_EXISTS,
})
_ATTEMPT_WAIT = 10.0  # seconds an attempt waits for its Welcome, at most


def reconnect_timeout(value):
    """Seconds to keep trying to reconnect: `value`, else the
    TASKGRID_RECONNECT_TIMEOUT environment variable, else 60; 0 turns
    reconnecting off."""
    if value is None:
        env = os.environ.get("TASKGRID_RECONNECT_TIMEOUT")
        if env is None:
            return DEFAULT_TIMEOUT
        try:
            seconds = float(env)
        except ValueError:
            seconds = float("nan")
        if not seconds >= 0:
            _log.warning('ignoring TASKGRID_RECONNECT_TIMEOUT="%s": not a number of seconds >= 0',
                         env)
            return DEFAULT_TIMEOUT
        return seconds
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ValueError("reconnect_timeout must be a number of seconds >= 0, not %r" % (value,))
    return float(value)


def retryable(code):
    """Whether a session that ended with status `code` may be opened again."""
    return code not in _FINAL_CODES


def should_reconnect(error):
    """Whether a session that ended with `error` (None: the scheduler ended
    it) may be opened again."""
    if error is None:
        return True
    if not isinstance(error, grpc.RpcError) or not hasattr(error, "code"):
        return False  # a bug on this side, not the scheduler going away
    return retryable(error.code())


def describe(error):
    if error is None:
        return "the scheduler ended the session"
    if isinstance(error, grpc.RpcError) and hasattr(error, "code"):
        return "%s (%s)" % (error.details(), error.code().name)
    return repr(error)


class PendingGraph:
    """An UpdateGraph message as sent, kept while a key it declared is
    pending."""
    __slots__ = ("message", "unresolved")

    def __init__(self, message):
        self.message = message
        self.unresolved = 0


class _Attempt:
    """One reconnect attempt's session: welcomed or closed, whichever first."""
    __slots__ = ("answered", "welcome", "closed")

    def __init__(self):
        self.answered = threading.Event()
        self.welcome = None
        self.closed = False


class SessionRecovery:
    """Mixed into Client. Uses its _lock, _states, _acks, _request_ids,
    _session, _channel, _scheduler, _closed, address, id and scheduler_id,
    and its _open_scheduler_channel, _on_events, _on_closed, _finish and
    _run_callbacks."""

    def _init_recovery(self, timeout):
        self._reconnect_timeout = reconnect_timeout(timeout)
        self._graphs = {}  # PendingGraph -> None, in the order first sent
        self._generation = 0  # of the session in use; attempts count up
        self._next_generation = 1
        self._attempts = {}  # generation -> _Attempt
        self._reconnecting = False
        self._shutdown = threading.Event()
        self._lost = None  # once set: why the session is over for good

    # ------------------------------------------------------------ graphs
    def _track_graph(self, message, states):
        """Keeps `message` until every one of `states` (the keys it declares)
        that is pending now and not kept by another graph is resolved.
        REQUIRES: the client's lock."""
        graph = PendingGraph(message)
        for state in states:
            if state.status == PENDING and state.graph is None:
                state.graph = graph
                graph.unresolved += 1
        if graph.unresolved:
            self._graphs[graph] = None

    def _resolve(self, state):
        """`state` no longer needs its definition kept (done or released).
        REQUIRES: the client's lock."""
        graph = state.graph
        if graph is None:
            return
        state.graph = None
        graph.unresolved -= 1
        if graph.unresolved == 0:
            self._graphs.pop(graph, None)

    # ------------------------------------------------------------ losing the session
    def _session_closed(self, generation, error):
        """True when the end of session `generation` is handled here: an
        attempt's, a replaced session's, or the live one's while a reconnect
        begins. REQUIRES: the client's lock."""
        attempt = self._attempts.get(generation)
        if attempt is not None:
            attempt.closed = True
            attempt.answered.set()
            return True
        if generation != self._generation or self._closed:
            return True
        if self.id is None or self._reconnect_timeout <= 0 or not should_reconnect(error):
            return False
        _log.warning("lost connection to the taskgrid scheduler at %s (%s); reconnecting for up "
                     "to %g s", self.address, describe(error), self._reconnect_timeout)
        self._reconnecting = True
        threading.Thread(target=self._reconnect_loop, name="taskgrid-reconnect",
                         daemon=True).start()
        return True

    def _fail_pending(self, message):
        """Ends the session for good: pending futures fail with a
        ConnectionError saying `message`; returns the states whose callbacks
        are due. REQUIRES: the client's lock."""
        self._lost = message
        lost = common_pb2.TaskError(type="ConnectionError", message=message)
        done = []
        for key, state in list(self._states.items()):
            if not state.event.is_set():
                self._finish(key, LOST, lost, done)
        return done

    def _check_session(self):
        """Raises the ConnectionError that ended the session, if it ended.
        REQUIRES: the client's lock."""
        if self._lost is not None:
            raise ConnectionError(self._lost)

    # ------------------------------------------------------------ reconnecting
    def _attempt_welcomed(self, generation, welcome):
        """REQUIRES: the client's lock."""
        attempt = self._attempts.get(generation)
        if attempt is not None and attempt.welcome is None:
            attempt.welcome = welcome
            attempt.answered.set()

    def _stop_reconnecting(self):
        """Wakes the reconnect thread to stop (the client is closing).
        REQUIRES: the client's lock."""
        self._shutdown.set()
        for attempt in self._attempts.values():
            attempt.answered.set()

    def _reconnect_loop(self):
        give_up = time.monotonic() + self._reconnect_timeout
        backoff = 0.2
        while True:
            pause = min(backoff, give_up - time.monotonic())
            if (pause > 0 and self._shutdown.wait(pause)) or self._shutdown.is_set():
                return
            if time.monotonic() >= give_up:
                message = ("lost connection to the taskgrid scheduler at %s and could not "
                           "reconnect within %g s" % (self.address, self._reconnect_timeout))
                _log.warning("%s", message)
                with self._lock:
                    if self._closed:
                        return
                    self._reconnecting = False
                    done = self._fail_pending(message)
                self._run_callbacks(done)
                return
            if self._try_reconnect(give_up):
                return
            backoff = min(backoff * 2, 1.0)

    def _try_reconnect(self, give_up):
        """One attempt; True when it replaced the session (or the client is
        closing)."""
        with self._lock:
            if self._closed:
                return True
            # (Copies: a Future collected here would change the table.)
            declared = [key for key, state in list(self._states.items())
                        if state.graph is None and state.status in (PENDING, FINISHED)]
            generation = self._next_generation
            self._next_generation += 1
            attempt = self._attempts[generation] = _Attempt()
        hello = scheduler_pb2.ClientHello(name=self._name, api_version="v1",
                                          wanted_keys=declared, reconnecting=True)
        channel, stub = self._open_scheduler_channel()
        session = Session(stub, hello, functools.partial(self._on_events, generation=generation),
                          functools.partial(self._on_closed, generation=generation))
        attempt.answered.wait(min(_ATTEMPT_WAIT, max(give_up - time.monotonic(), 1.0)))
        with self._lock:
            del self._attempts[generation]
            replaced = attempt.welcome is not None and not attempt.closed and not self._closed
            if replaced:
                old = self._session, self._channel
                self._session, self._channel, self._scheduler = session, channel, stub
                self._generation = generation
                self.id = attempt.welcome.client_id
                self.scheduler_id = attempt.welcome.scheduler_id
                graphs = self._send_again(session, set(declared))
                self._reconnecting = False
        if not replaced:
            session.close(0)
            channel.close()
            return False
        _log.info("reconnected to the taskgrid scheduler at %s: re-declared %d keys, sent %d "
                  "pending graphs again", self.address, len(declared), graphs)
        old[0].close(0)
        old[1].close()
        return True

    def _send_again(self, session, declared):
        """Sends the pending graphs again on the new `session`, wants what
        came to be wanted since the hello and releases what the hello or the
        graphs want that is no longer wanted; returns the number of graphs.
        REQUIRES: the client's lock."""
        states = self._states
        unwanted = {key for key in declared if key not in states}
        for graph in list(self._graphs):
            update = graph.message.update_graph
            # A rejection now fails what is still pending (an ack from
            # before the restart may have cleared the entry).
            self._acks[update.request_id] = [
                key for key in update.wanted_keys
                if key in states and states[key].status == PENDING]
            session.send(graph.message)
            for key in update.wanted_keys:
                if key not in states or states[key].status == CANCELLED:
                    unwanted.add(key)
        late = [key for key, state in list(states.items())
                if state.graph is None and state.status in (PENDING, FINISHED)
                and key not in declared]
        if late:
            session.send(scheduler_pb2.ClientMessage(update_graph=scheduler_pb2.UpdateGraph(
                request_id=next(self._request_ids), wanted_keys=late)))
        if unwanted:
            session.send(scheduler_pb2.ClientMessage(
                release_keys=scheduler_pb2.ReleaseKeys(keys=sorted(unwanted))))
        return len(self._graphs)
