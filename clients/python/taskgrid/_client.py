"""Client: distributed.Client's API on a taskgrid cluster.

One gRPC channel to the scheduler carries the ClientSession stream (graph
updates, releases, cancels out; key events in); results are fetched straight
from the workers that hold them (Worker.GetData), never through the
scheduler. When the scheduler restarts, a new channel and session replace
them (_reconnect.py).

Thread-safety: every method may be called from any thread. One lock guards
the key table; callbacks run on a separate thread.
"""
import concurrent.futures
import itertools
import os
import threading
import uuid
import weakref

import grpc

from taskgrid import _auth, _dask, _reconnect, _scatter, _tasks
from taskgrid._reconnect import SessionRecovery
from taskgrid._errors import FutureLost
from taskgrid._future import CANCELLED, ERROR, FINISHED, LOST, PENDING, Future, _KeyState
from taskgrid._session import Session
from taskgrid._values import decode
from taskgrid.v1 import common_pb2, scheduler_pb2, scheduler_pb2_grpc, worker_pb2, worker_pb2_grpc

_CHANNEL_OPTIONS = [("grpc.max_receive_message_length", -1),
                    ("grpc.max_send_message_length", -1)]
_TERMINAL = {
    common_pb2.KEY_STATE_MEMORY: FINISHED,
    common_pb2.KEY_STATE_ERRED: ERROR,
    common_pb2.KEY_STATE_CANCELLED: CANCELLED,
    common_pb2.KEY_STATE_LOST: LOST,
}
_default_client = None
# Workers may pack small results into one message of about this size
# (GetDataRequest.max_batch_bytes): one message per result would cost far
# more than the result itself.
_BATCH_BYTES = 1 << 20


def _unbatched(chunks):
    """The DataChunks of a GetData stream, batches opened up."""
    for chunk in chunks:
        if chunk.batch:
            yield from chunk.batch
        else:
            yield chunk


def default_client():
    """The most recently created client that is still open."""
    if _default_client is None:
        raise ValueError("no taskgrid Client has been created")
    return _default_client


def _address_of(address):
    if address is None:
        address = os.environ.get("TASKGRID_SCHEDULER_ADDRESS", "127.0.0.1:8786")
    address = getattr(address, "scheduler_address", address)  # a cluster object
    return _tasks.strip_scheme(address)


class Client(SessionRecovery):
    """Connect to a taskgrid scheduler: ``Client("127.0.0.1:8786")``.

    ``token`` (default: the TASKGRID_TOKEN environment variable) is sent as
    a bearer token on every call, for a cluster started with --token-file.

    ``reconnect_timeout`` (seconds; default: the TASKGRID_RECONNECT_TIMEOUT
    environment variable, else 60; 0 turns it off): when the scheduler
    restarts or becomes unreachable, the client reconnects for up to this
    long, re-declaring the results it holds and sending again the graphs
    of its pending futures, which stay pending meanwhile (results that
    survived on the workers are not computed again). After it, or at once
    when the scheduler refused the session (e.g. UNAUTHENTICATED), pending
    futures fail with a ConnectionError naming the scheduler and the
    timeout.
    """

    def __init__(self, address=None, timeout=10, name=None, set_as_default=True, token=None,
                 reconnect_timeout=None, **kwargs):
        self.address = _address_of(address)
        self._token = _auth.resolve_token(token)
        self._init_recovery(reconnect_timeout)  # checks the argument before connecting
        self._channel, self._scheduler = self._open_scheduler_channel()
        try:
            grpc.channel_ready_future(self._channel).result(timeout=timeout)
        except grpc.FutureTimeoutError:
            self._channel.close()
            raise OSError("cannot reach the taskgrid scheduler at %s within %s s"
                          % (self.address, timeout))
        self._lock = threading.RLock()
        self._states = {}    # key -> _KeyState of keys this client holds
        self._refcount = {}  # key -> live Future objects
        self._acks = {}      # request_id -> keys of an update not yet acknowledged
        self._request_ids = itertools.count(1)
        self._worker_stubs = {}
        self._scatter_next = 0  # round robin over workers across scatters
        self._callbacks = concurrent.futures.ThreadPoolExecutor(1, "taskgrid-callbacks")
        self._welcome = threading.Event()
        self._closed = False
        self.id = None
        self.scheduler_id = None
        self._dask_config = None
        self._name = name or "python-%s" % uuid.uuid4().hex[:8]  # kept when reconnecting
        hello = scheduler_pb2.ClientHello(name=self._name, api_version="v1")
        self._refusal = None  # the error that ended the session before its welcome
        self._session = Session(self._scheduler, hello, self._on_events, self._on_closed)
        if not self._welcome.wait(timeout) or self.id is None:
            self.close()
            refusal = self._refusal
            if refusal is not None and hasattr(refusal, "code"):
                # e.g. UNAUTHENTICATED: a missing or wrong token (--token-file).
                raise PermissionError("the taskgrid scheduler at %s refused this client: %s (%s)"
                                      % (self.address, refusal.details(), refusal.code().name))
            raise OSError("the taskgrid scheduler at %s did not welcome this client" % self.address)
        if set_as_default:
            self._set_as_default()

    # ------------------------------------------------------------ lifecycle
    def _open_scheduler_channel(self):
        """A new channel to the scheduler and a Scheduler stub on it."""
        channel = grpc.insecure_channel(self.address, options=_CHANNEL_OPTIONS)
        return channel, scheduler_pb2_grpc.SchedulerStub(_auth.with_token(channel, self._token))

    def _set_as_default(self):
        global _default_client
        _default_client = self
        try:
            import dask

            # Like distributed: dask collections compute on this client.
            self._dask_config = dask.config.set(scheduler=self.get, shuffle="tasks")
        except ImportError:
            pass

    def close(self, timeout=2.0):
        global _default_client
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._stop_reconnecting()
            session, channel = self._session, self._channel
        if _default_client is self:
            _default_client = None
        if self._dask_config is not None:
            self._dask_config.__exit__(None, None, None)
            self._dask_config = None
        session.close(timeout)
        self._callbacks.shutdown(wait=False)
        channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    @property
    def status(self):
        if self._closed:
            return "closed"
        return "connecting" if self._reconnecting else "running"

    def __repr__(self):
        return "<taskgrid.Client: scheduler=%r, status=%s>" % (self.address, self.status)

    # ------------------------------------------------------------ events
    def _on_events(self, batch, generation=0):
        """A batch from session `generation` (0: the first session; a
        reconnect attempt's events apply too, they are about this client's
        keys)."""
        done = []
        with self._lock:
            for ev in batch.events:
                kind = ev.WhichOneof("event")
                if kind == "welcome":
                    if self.id is not None:
                        self._attempt_welcomed(generation, ev.welcome)
                        continue
                    self.id = ev.welcome.client_id
                    self.scheduler_id = ev.welcome.scheduler_id
                    self._welcome.set()
                elif kind == "graph_ack":
                    keys = self._acks.pop(ev.graph_ack.request_id, ())
                    if not ev.graph_ack.accepted:
                        error = common_pb2.TaskError(type="ValueError", message=ev.graph_ack.error)
                        for key in keys:
                            self._finish(key, ERROR, error, done)
                elif kind == "key_event":
                    self._apply(ev.key_event, done)
        self._run_callbacks(done)

    def _apply(self, ev, done):
        state = self._states.get(ev.key)
        if state is None:
            return
        status = _TERMINAL.get(ev.state)
        if status == FINISHED:
            state.workers = list(ev.workers)
            state.nbytes = ev.nbytes
            state.type_name = ev.type_name
        if status is not None:
            self._finish(ev.key, status, ev.error if ev.HasField("error") else None, done)
        elif ev.state == common_pb2.KEY_STATE_NO_WORKER:
            state.no_worker = ev.error
        elif state.event.is_set() and state.status != CANCELLED:
            state.status = PENDING  # recomputing (e.g. after its holders died)
            state.event.clear()

    def _finish(self, key, status, error, done):
        state = self._states.get(key)
        if state is None:
            return
        self._resolve(state)
        state.status = status
        state.error = error if status != FINISHED else None
        if not state.event.is_set():
            state.event.set()
            if state.callbacks:
                done.append(state)

    def _run_callbacks(self, states):
        for state in states:
            callbacks, state.callbacks = state.callbacks, []
            for fn in callbacks:
                try:
                    self._callbacks.submit(fn)
                except RuntimeError:  # closing
                    pass

    def _on_closed(self, error, generation=0):
        if self.id is None:
            # Refused before the welcome: wake the constructor at once.
            self._refusal = error
            self._welcome.set()
        with self._lock:
            if self._session_closed(generation, error):
                return  # reconnecting, or not the session in use
            done = self._fail_pending("lost connection to the taskgrid scheduler at %s: %s"
                                      % (self.address, _reconnect.describe(error)))
        self._run_callbacks(done)

    # ------------------------------------------------------------ references
    def _state_for(self, key):
        with self._lock:
            state = self._states.get(key)
            if state is None:
                state = self._states[key] = _KeyState(key)
            return state

    def _inc_ref(self, key):
        with self._lock:
            self._refcount[key] = self._refcount.get(key, 0) + 1

    def _dec_ref(self, key):
        with self._lock:
            n = self._refcount.get(key, 0) - 1
            if n > 0:
                self._refcount[key] = n
                return
            self._refcount.pop(key, None)
            state = self._states.pop(key, None)
            if state is not None:
                self._resolve(state)
            # Under the lock, so that a reconnect swapping the session
            # either sees the key gone or gets this release.
            if not self._closed:
                self._session.send(scheduler_pb2.ClientMessage(
                    release_keys=scheduler_pb2.ReleaseKeys(keys=[key])))

    def _add_callback(self, future, fn):
        with self._lock:
            if not future._state.event.is_set():
                future._state.callbacks.append(lambda: fn(future))
                return
        self._callbacks.submit(fn, future)

    # ------------------------------------------------------------ graphs
    def _update_graph(self, specs, wanted, priority=0):
        """Sends tasks, wants `wanted`; returns their futures."""
        rid = next(self._request_ids)
        resubmitted = {s.key for s in specs}
        message = scheduler_pb2.ClientMessage(update_graph=scheduler_pb2.UpdateGraph(
            request_id=rid, tasks=specs, wanted_keys=wanted, priority=int(priority or 0)))
        with self._lock:
            self._check_session()
            futures = []
            for key in wanted:
                state = self._states.get(key)
                if state is not None and state.status in (CANCELLED, LOST, ERROR) \
                        and key in resubmitted:
                    state.status = PENDING  # submitted again
                    state.error = None
                    state.event.clear()
                futures.append(Future(key, self))
            self._acks[rid] = list(wanted)
            # Kept to be sent again if the scheduler restarts; sent under
            # the lock so a reconnect sends it on the new session exactly
            # once.
            self._track_graph(message, [f._state for f in futures])
            self._session.send(message)
        return futures

    def _held(self, key):
        with self._lock:
            state = self._states.get(key)
            return state is not None and state.status in (PENDING, FINISHED)

    def submit(self, func, *args, key=None, workers=None, resources=None, retries=None,
               priority=0, allow_other_workers=False, pure=True, fifo_timeout=None,
               actor=False, actors=False, **kwargs):
        """Runs func(*args, **kwargs) on a worker; returns its Future."""
        if not callable(func):
            raise TypeError("First input to submit must be a callable function")
        if key is None:
            key = _tasks.make_key(func, args, kwargs, pure)
        if self._held(key):
            return Future(key, self)
        spec = _tasks.python_task(key, func, args, kwargs, retries=retries, priority=priority,
                                  workers=workers, allow_other_workers=allow_other_workers,
                                  resources=resources)
        return self._update_graph([spec], [key])[0]

    def map(self, func, *iterables, key=None, workers=None, retries=None, resources=None,
            priority=0, allow_other_workers=False, pure=True, batch_size=None, **kwargs):
        """One task per element of zip(*iterables); one graph update."""
        if not callable(func):
            raise TypeError("First input to map must be a callable function")
        rows = list(zip(*[list(it) for it in iterables]))
        if isinstance(key, (list, tuple)):
            if len(key) != len(rows):
                raise ValueError("map: %d keys for %d tasks" % (len(key), len(rows)))
            keys = list(key)
        else:
            keys = [_tasks.make_key(func, row, kwargs, pure, prefix=key) for row in rows]
        specs, seen = [], set()
        options = dict(retries=retries, priority=priority, workers=workers,
                       allow_other_workers=allow_other_workers, resources=resources)
        for k, row in zip(keys, rows):
            if k in seen or self._held(k):
                continue
            seen.add(k)
            specs.append(_tasks.python_task(k, func, row, kwargs, **options))
        return self._update_graph(specs, keys)

    def scatter(self, data, workers=None, broadcast=False, direct=None, hash=True,
                timeout=None, asynchronous=None):
        """Puts local data on the cluster; returns futures (same structure).

        The values go from this client straight to the workers
        (Worker.PutData): round robin over `workers` (default: every
        worker), or onto each of them with broadcast=True; the scheduler
        only learns where they are. Scattered data cannot be recomputed: if
        every worker holding it leaves, its future errs. Transfers are
        always direct, whatever `direct` says.
        """
        def key_of(x):
            name = type(x).__name__
            return "%s-%s" % (name, _tasks.tokenize(x) if hash else uuid.uuid4().hex)

        if isinstance(data, dict):
            items = list(data.items())
        elif isinstance(data, (list, tuple, set, frozenset)):
            items = [(key_of(x), x) for x in data]
        else:
            items = [(key_of(data), data)]
        futures = self._scatter_items(items, workers, broadcast, timeout)
        if isinstance(data, dict):
            return dict(zip(data, futures))
        if isinstance(data, (list, tuple, set, frozenset)):
            return type(data)(futures) if not isinstance(data, (set, frozenset)) else futures
        return futures[0]

    def _scatter_targets(self, workers):
        """Addresses of the workers to scatter to."""
        info = self._scheduler.ClusterInfo(scheduler_pb2.ClusterInfoRequest())
        if not workers:
            out = [w.address for w in info.workers if w.status != "retiring"]
        else:
            out = []
            for name in [workers] if isinstance(workers, str) else workers:
                wanted = _tasks.strip_scheme(name)
                found = [w.address for w in info.workers if wanted in (w.address, w.name)]
                if not found:
                    raise ValueError("scatter: no connected worker named or at %s" % name)
                out.append(found[0])
        if not out:
            raise ValueError("scatter: no worker to put the data on")
        return out

    def _scatter_items(self, items, workers, broadcast, timeout):
        """Pushes [(key, value)] to workers, tells the scheduler, and returns
        the futures once the scheduler has them in memory."""
        targets = self._scatter_targets(workers)
        rid = next(self._request_ids)
        to_push, seen = [], set()
        with self._lock:
            for key, value in items:
                if key in seen or self._held(key):
                    continue  # this client has it already
                seen.add(key)
                state = self._states.get(key)
                if state is not None:  # erred or cancelled before: starts over
                    state.status, state.error = PENDING, None
                    state.event.clear()
                to_push.append((key, value))
            futures = [Future(key, self) for key, _ in items]
            if to_push:
                self._acks[rid] = [key for key, _ in to_push]
            start = self._scatter_next
            self._scatter_next += len(to_push)
        if not to_push:
            return futures
        plan = {}
        for j, (key, value) in enumerate(to_push):
            data = _scatter.encode(value)
            for address in targets if broadcast else [targets[(start + j) % len(targets)]]:
                plan.setdefault(address, []).append((key, data))
        requester = "client:%s" % self.id

        def push_to(address):
            try:
                return address, _scatter.push(self._worker_stub(address), plan[address],
                                              requester, timeout), None
            except grpc.RpcError as e:
                return address, [], e

        with concurrent.futures.ThreadPoolExecutor(min(8, len(plan))) as pool:
            results = list(pool.map(push_to, plan))
        located, failure = {}, None
        for address, stored, error in results:
            if error is not None:
                failure = failure or "%s: %s" % (address, error.details())
                continue
            for loc in stored:
                entry = located.setdefault(loc.key, common_pb2.KeyLocation(key=loc.key,
                                                                           nbytes=loc.nbytes))
                entry.workers.append(address)
        if located:
            # What was stored is announced even when a worker failed, so
            # that dropping the futures frees it on the workers.
            self._session.send(scheduler_pb2.ClientMessage(update_data=scheduler_pb2.UpdateData(
                request_id=rid, keys=list(located.values()))))
        else:
            with self._lock:
                self._acks.pop(rid, None)
        if failure is not None:
            raise OSError("scatter: a worker did not store the data (%s)" % failure)
        for f in futures:
            f._wait(timeout)
            if f._state.status != FINISHED:
                raise f._exception_now()
        return futures

    def cancel(self, futures, asynchronous=None, force=False):
        """Cancels the futures' tasks (and, with force, for other clients)."""
        futures = [futures] if isinstance(futures, Future) else list(futures)
        keys = [f.key for f in futures]
        done = []
        with self._lock:
            for key in keys:
                self._finish(key, CANCELLED, None, done)
        self._session.send(scheduler_pb2.ClientMessage(
            cancel_keys=scheduler_pb2.CancelKeys(keys=keys, force=force)))
        self._run_callbacks(done)

    # ------------------------------------------------------------ results
    def _worker_stub(self, address):
        with self._lock:
            stub = self._worker_stubs.get(address)
            if stub is None:
                channel = _auth.with_token(
                    grpc.insecure_channel(address, options=_CHANNEL_OPTIONS), self._token)
                stub = self._worker_stubs[address] = worker_pb2_grpc.WorkerStub(channel)
            return stub

    def _get_data(self, address, keys):
        """{key: value} of the keys `address` could serve."""
        out, parts = {}, {}
        request = worker_pb2.GetDataRequest(keys=keys, requester="client:%s" % self.id,
                                            max_batch_bytes=_BATCH_BYTES)
        try:
            for chunk in _unbatched(self._worker_stub(address).GetData(request)):
                if chunk.error and chunk.error_permanent:
                    # The worker holds the value but cannot send it (a
                    # Python object that cannot be pickled): no retry helps.
                    raise TypeError("%s: %s" % (chunk.key, chunk.error))
                if chunk.error:
                    continue
                if chunk.last and chunk.offset == 0:
                    out[chunk.key] = decode(chunk.data)
                    continue
                parts.setdefault(chunk.key, []).append(chunk.data)
                if chunk.last:
                    out[chunk.key] = decode(b"".join(parts.pop(chunk.key)))
        except grpc.RpcError:
            pass  # worker gone: the caller asks who else has the keys
        return out

    def _fetch(self, futures):
        """{key: value} for finished futures, fetched in parallel from the
        workers holding them."""
        keys = list(dict.fromkeys(f.key for f in futures))
        values = {}
        locations = {f.key: list(f._state.workers) for f in futures}
        for attempt in range(3):
            by_worker = {}
            for key in keys:
                if key not in values and locations.get(key):
                    by_worker.setdefault(locations[key][attempt % len(locations[key])],
                                         []).append(key)
            if by_worker:
                if len(by_worker) == 1:
                    (address, ks), = by_worker.items()
                    values.update(self._get_data(address, ks))
                else:
                    with concurrent.futures.ThreadPoolExecutor(min(8, len(by_worker))) as pool:
                        for got in pool.map(lambda item: self._get_data(*item),
                                            by_worker.items()):
                            values.update(got)
            missing = [k for k in keys if k not in values]
            if not missing:
                return values
            locations.update(self._who_has_raw(missing))
        raise FutureLost("could not fetch %s from any worker" % missing[:5])

    def _fetch_one(self, future):
        return self._fetch([future])[future.key]

    def gather(self, futures, errors="raise", direct=None, asynchronous=None):
        """The results of futures (a Future, or lists/tuples/dicts of them),
        in the same structure. errors="skip" leaves out erred ones."""
        flat = []

        def collect(x):
            if isinstance(x, Future):
                flat.append(x)
            elif type(x) in (list, tuple, set, frozenset):
                for i in x:
                    collect(i)
            elif type(x) is dict:
                for v in x.values():
                    collect(v)

        collect(futures)
        bad = set()
        for f in flat:
            f._state.event.wait()
            if f._state.status != FINISHED:
                if errors == "raise":
                    raise f._exception_now()
                bad.add(f.key)
        values = self._fetch([f for f in flat if f.key not in bad])

        def pack(x):
            if isinstance(x, Future):
                return values[x.key]
            t = type(x)
            if t in (list, tuple, set, frozenset):
                return t(pack(i) for i in x
                         if not (isinstance(i, Future) and i.key in bad))
            if t is dict:
                return {k: pack(v) for k, v in x.items()
                        if not (isinstance(v, Future) and v.key in bad)}
            return x

        return pack(futures)

    # ------------------------------------------------------------ dask
    def get(self, dsk, keys, workers=None, allow_other_workers=None, resources=None,
            retries=None, priority=0, **kwargs):
        """Computes dask graph `dsk` and returns the values of `keys` (nested
        lists allowed): ``dask.compute(x, scheduler=client.get)``."""
        from dask.utils import ensure_dict

        dsk = ensure_dict(dsk)
        specs = _dask.graph_to_specs(dsk)
        for s in specs:
            _tasks.apply_options(s, retries=retries or s.retries, priority=priority,
                                 workers=workers, allow_other_workers=allow_other_workers,
                                 resources=resources)
        flat = list(_dask.flatten_keys(keys))
        futures = self._update_graph(specs, [_dask.stringify(k) for k in flat])
        try:
            values = self.gather(futures)
        finally:
            for f in futures:
                f.release()
        return _dask.pack(keys, dict(zip(flat, values)))

    def _submit_collections(self, collections, optimize_graph, finalize, priority=0):
        import dask
        from dask.base import collections_to_dsk
        from dask.utils import ensure_dict

        dsk = ensure_dict(collections_to_dsk(collections, optimize_graph))
        wanted = []
        for c in collections:
            if finalize:
                func, extra = c.__dask_postcompute__()
                name = "finalize-%s" % _tasks.tokenize(c)
                dsk[name] = (func, c.__dask_keys__()) + tuple(extra)
                wanted.append([name])
            else:
                wanted.append(list(_dask.flatten_keys(c.__dask_keys__())))
        specs = _dask.graph_to_specs(dsk)
        flat = [k for ks in wanted for k in ks]
        futures = self._update_graph(specs, [_dask.stringify(k) for k in flat], priority)
        by_key = dict(zip(flat, futures))
        return [[by_key[k] for k in ks] for ks in wanted]

    def compute(self, collections, sync=False, optimize_graph=True, priority=0, **kwargs):
        """A Future per dask collection (its finalized value); with
        sync=True, the values."""
        import dask

        single = dask.is_dask_collection(collections)
        cs = [collections] if single else list(collections)
        futures = [fs[0] for fs in self._submit_collections(cs, optimize_graph, True, priority)]
        if sync:
            results = self.gather(futures)
            return results[0] if single else results
        return futures[0] if single else futures

    def persist(self, collections, optimize_graph=True, priority=0, **kwargs):
        """The collections with their graphs replaced by futures of their
        computed keys (kept on the cluster)."""
        import dask

        single = dask.is_dask_collection(collections)
        cs = [collections] if single else list(collections)
        out = []
        for c, fs in zip(cs, self._submit_collections(cs, optimize_graph, False, priority)):
            keys = list(_dask.flatten_keys(c.__dask_keys__()))
            rebuild, state = c.__dask_postpersist__()
            out.append(rebuild({k: f for k, f in zip(keys, fs)}, *state))
        return out[0] if single else out

    # ------------------------------------------------------------ cluster
    def _who_has_raw(self, keys):
        reply = self._scheduler.WhoHas(scheduler_pb2.WhoHasRequest(keys=keys))
        return {loc.key: list(loc.workers) for loc in reply.locations}

    def who_has(self, futures=None):
        """{key: [worker addresses]} for the futures (or every key)."""
        if futures is None:
            keys = []
        else:
            futures = [futures] if isinstance(futures, Future) else futures
            keys = [f.key if isinstance(f, Future) else f for f in futures]
        found = self._who_has_raw(keys)
        return {k: ["tcp://" + w for w in found.get(k, [])] for k in (keys or found)}

    def _keys_in_memory(self, futures):
        """The keys of the futures, once they are finished."""
        futures = [futures] if isinstance(futures, Future) else list(futures)
        for f in futures:
            f._state.event.wait()
            if f._state.status != FINISHED:
                raise f._exception_now()
        return [f.key for f in futures]

    def replicate(self, futures, n=None, workers=None, branching_factor=2, **kwargs):
        """Copies the futures' data until each key has `n` replicas (default:
        one on every worker) among `workers`; returns once they are made."""
        keys = self._keys_in_memory(futures)
        if keys:
            self._scheduler.Replicate(scheduler_pb2.ReplicateRequest(
                keys=keys, n=int(n or 0),
                workers=[_tasks.strip_scheme(w) for w in workers or []]))

    def rebalance(self, futures=None, workers=None, **kwargs):
        """Moves data from workers holding more than the mean to workers
        holding less (only the futures' keys when given); returns once the
        moves are done."""
        keys = [] if futures is None else self._keys_in_memory(futures)
        if futures is not None and not keys:
            return
        self._scheduler.Rebalance(scheduler_pb2.RebalanceRequest(
            keys=keys, workers=[_tasks.strip_scheme(w) for w in workers or []]))

    def scheduler_info(self):
        """The cluster as distributed reports it: workers keyed by address."""
        info = self._scheduler.ClusterInfo(scheduler_pb2.ClusterInfoRequest())
        workers = {}
        for w in info.workers:
            workers["tcp://" + w.address] = {
                "type": "Worker", "id": w.id, "name": w.name or w.address,
                "host": w.address.rpartition(":")[0], "nthreads": w.nthreads,
                "memory_limit": w.memory_limit, "resources": dict(w.resources),
                "metrics": {"memory": w.memory_bytes, "executing": w.processing,
                            "keys_held": w.keys_held},
                "metrics_address": w.metrics_address,
                "last_seen": w.last_seen_seconds_ago,
            }
        return {"type": "Scheduler", "id": info.scheduler_id, "address": "tcp://" + self.address,
                "workers": workers, "tasks_by_state": dict(info.tasks_by_state),
                "clients": info.clients, "functions": list(info.functions),
                "uptime": info.uptime_seconds}

    def nthreads(self):
        return {a: w["nthreads"] for a, w in self.scheduler_info()["workers"].items()}

    ncores = nthreads

    def restart(self, timeout=None):
        """Forgets every task on the cluster; this client's futures become
        cancelled."""
        self._scheduler.Restart(scheduler_pb2.RestartRequest(), timeout=timeout)
        done = []
        with self._lock:
            for key, state in list(self._states.items()):
                self._finish(key, CANCELLED, None, done)
        self._run_callbacks(done)
        return self

    def retire_workers(self, workers=None, close_workers=True):
        reply = self._scheduler.RetireWorkers(scheduler_pb2.RetireWorkersRequest(
            workers=[_tasks.strip_scheme(w) for w in workers or []],
            close_workers=close_workers))
        return ["tcp://" + w for w in reply.retired]

    # ------------------------------------------------------------ helpers
    def executor(self, **kwargs):
        """A concurrent.futures.Executor running on this client."""
        from taskgrid._executor import TaskgridExecutor

        return TaskgridExecutor(self, **kwargs)

    def futures_of(self, collection):
        from taskgrid._waiting import futures_of

        return futures_of(collection)
