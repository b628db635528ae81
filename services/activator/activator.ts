/**
 * The activator: the request buffer and load balancer in front of every function's replicas (DESIGN §2, §7).
 *
 * Every request for a function passes through `relay` (relay.ts), which is cheap enough to sit on the hot path: a
 * request takes a free replica slot at once when nobody is queued ahead of it, or waits in the function's bounded
 * FIFO (balancer.ts) with a deadline. Only waiting costs a promise and a timer; a request with a free slot goes
 * straight to the replica's keep-alive pool and its answer is handed on as undici parses it. Knative's
 * target-burst-capacity rule (burst.ts) decides whether the activator is in the path. Out of it, and with no
 * containerConcurrency to enforce, the gateway's new connections go straight to replicas (`handoff`), whose
 * reported load is added to what is counted here; every other request (in-process dispatch from the router
 * included) passes through `relay`, where containerConcurrency is enforced and the request is counted.
 *
 * A request for a function with no ready replica pokes the autoscaler at once (scale from zero does not wait for
 * its next tick), and every `reportIntervalMs` the time-averaged concurrency and request count of each function
 * is recorded with the autoscaler.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import type { Registry } from 'prom-client';
import type { HandoffMessage } from '../../functions/sdk/handoff.ts';
import { ElasticServingError, toErrorBody } from '../core/errors.ts';
import { functionKey, type RuntimeActuator } from '../runtime/types.ts';
import { type Backend, ReplicaBalancer } from './balancer.ts';
import { activatorInPath, DEFAULT_TARGET_BURST_CAPACITY } from './burst.ts';
import { ConcurrencyMeter, RecentAverage } from './meter.ts';
import { type ActivatorMetrics, createActivatorMetrics, type FunctionCounters } from './metrics.ts';
import { ReplicaPools } from './pools.ts';
import { forwardHeaders, headersFromRaw, Relay, type RelayHandle, type RelayHost, type ResponseSink } from './relay.ts';

/** How the activator serves one function. */
export interface ActivatorFunction {
  /** Requests one replica serves at once; 0 = unlimited. */
  containerConcurrency: number;
  /** Deadline of a request, queueing included; past it the caller gets 504. */
  timeoutSeconds: number;
  /**
   * Knative's `target-burst-capacity`: 0 = out of the path whenever a replica is ready, -1 = always in the path.
   * @defaultValue 200
   */
  targetBurstCapacity?: number;
  /**
   * Per-replica capacity in units of `metric` for the burst rule (Knative's total target, before utilization).
   * @defaultValue containerConcurrency, else 100
   */
  capacityPerReplica?: number;
  /** The scaling metric the burst rule compares. @defaultValue 'concurrency' */
  metric?: 'concurrency' | 'rps';
  /** Window the observed load is averaged over for the burst rule (the panic window). @defaultValue 6000 */
  panicWindowMs?: number;
}

/** What the activator tells the autoscaler (services/autoscaler's Autoscaler satisfies it). */
export interface ScaleSignals {
  /** A request is waiting for a function with no ready replica: decide now. */
  poke(fn: string): void;
  record(fn: string, load: { concurrency: number; requests: number }): void;
}

export interface ActivatorOptions {
  runtime: Pick<RuntimeActuator, 'replicas' | 'onChange' | 'handoff' | 'takeDirectLoad'>;
  /** Gets pokes and load reports; none in tests of the data path alone. @defaultValue undefined */
  autoscaler?: ScaleSignals;
  /** Requests waiting per function before 503. @defaultValue 10000 */
  maxQueue?: number;
  /** How often load is recorded with the autoscaler. @defaultValue 1000 */
  reportIntervalMs?: number;
  /** Registers the `es_activator_*` metrics here. @defaultValue undefined (no metrics) */
  registry?: Registry;
  /** Why a function has no ready replica, from the autoscaler's side (added to 504 messages). */
  explain?: (fn: string) => string | undefined;
}

export interface DispatchRequest {
  method?: string;
  /** Path on the replica, query included. @defaultValue '/' */
  path?: string;
  /** As an object, or raw `[name, value, …]` (IncomingMessage.rawHeaders); hop-by-hop fields are dropped. */
  headers?: IncomingHttpHeaders | Record<string, string> | readonly string[];
  body?: Buffer;
  signal?: AbortSignal;
}

export interface DispatchResponse {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/**
 * Receives a replica's answer as a stream (`forward`). `done` is kept for callers written against the earlier
 * contract and does nothing: the slot is freed once the replica's answer has been read.
 */
export type ResponseHandler = (
  status: number,
  headers: Record<string, string | string[] | undefined>,
  body: NodeJS.ReadableStream & AsyncIterable<Buffer>,
  done: () => void,
) => Promise<void>;

/** A function's activator state, for status, tests and metrics. */
export interface FunctionLoad {
  /** Requests waiting for a slot. */
  queued: number;
  /** Requests at a replica. */
  inFlight: number;
  /** Ready replicas the activator routes to. */
  ready: number;
  /** Whether requests are buffered here (true) or go straight to replicas. */
  inPath: boolean;
  balancer: ReplicaBalancer;
}

interface FunctionState {
  key: string;
  settings: ActivatorFunction;
  balancer: ReplicaBalancer;
  meter: ConcurrencyMeter;
  recent: RecentAverage;
  inPath: boolean;
  lastPoke: number;
  counters: FunctionCounters | undefined;
  /** Round-robin position of the next connection handed to a replica. */
  nextHandoff: number;
}

/** While a function stays at zero, pokes are repeated at most this often. */
const POKE_INTERVAL_MS = 1000;

/** What `relay` returns for a function it does not serve (the sink already has its 404). */
const NOTHING_TO_ABORT: RelayHandle = { abort() {} };

/** The status and JSON body an error answers with (503s carry Retry-After). */
export function errorResponse(err: unknown): DispatchResponse {
  const { status, body, retryAfterSeconds } = toErrorBody(err);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (retryAfterSeconds !== undefined && status === 503) headers['retry-after'] = String(retryAfterSeconds);
  return { statusCode: status, headers, body: Buffer.from(JSON.stringify(body)) };
}

export class Activator {
  readonly maxQueue: number;
  #options: ActivatorOptions;
  #functions = new Map<string, FunctionState>();
  #pools = new ReplicaPools();
  #metrics: ActivatorMetrics | undefined;
  #unsubscribe: () => void;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  readonly #host: RelayHost<FunctionState> = {
    pool: (port) => this.#pools.get(port),
    unsent: (state, backend, err) => this.#unsent(state, backend, err),
    poke: (state) => this.#poke(state),
  };

  constructor(options: ActivatorOptions) {
    this.#options = options;
    this.maxQueue = options.maxQueue ?? 10_000;
    this.#metrics = options.registry ? createActivatorMetrics(options.registry, () => this.#functions) : undefined;
    this.#unsubscribe = options.runtime.onChange((fn) => this.#sync(fn));
  }

  /** Serves a function (or updates how); requests for unknown functions answer 404. */
  upsert(namespace: string, name: string, settings: ActivatorFunction): void {
    const key = functionKey(namespace, name);
    const known = this.#functions.get(key);
    if (known) {
      known.settings = { ...settings };
      known.balancer.containerConcurrency = settings.containerConcurrency;
      this.#decidePath(known, performance.now());
      return;
    }
    const state: FunctionState = {
      key,
      settings: { ...settings },
      balancer: new ReplicaBalancer({
        containerConcurrency: settings.containerConcurrency,
        maxQueue: this.maxQueue,
        name: key,
      }),
      meter: new ConcurrencyMeter(performance.now()),
      recent: new RecentAverage(),
      inPath: true,
      lastPoke: Number.NEGATIVE_INFINITY,
      counters: this.#metrics?.countersFor(namespace, name),
      nextHandoff: 0,
    };
    state.balancer.explainTimeout = (had) => this.#explain(state, had);
    this.#functions.set(key, state);
    this.#sync(key);
  }

  /** Stops serving a function: waiting requests fail with 404. */
  remove(namespace: string, name: string): void {
    const key = functionKey(namespace, name);
    const state = this.#functions.get(key);
    if (!state) return;
    this.#functions.delete(key);
    state.balancer.rejectAll(new ElasticServingError('ES_ERR_NOT_FOUND', `function ${key} was removed`));
    this.#metrics?.forget(namespace, name);
  }

  has(namespace: string, name: string): boolean {
    return this.#functions.has(functionKey(namespace, name));
  }

  load(namespace: string, name: string): FunctionLoad | undefined {
    const s = this.#functions.get(functionKey(namespace, name));
    if (!s) return undefined;
    const b = s.balancer;
    return { queued: b.queued, inFlight: b.inFlight, ready: b.backends.length, inPath: s.inPath, balancer: b };
  }

  /**
   * Starts recording load with the autoscaler every `reportIntervalMs`, just after each wall-clock multiple of it:
   * the autoscaler buckets reports by the second they arrive in, so one report lands in each second's bucket
   * instead of two in one and none in the next as an unaligned timer drifts.
   */
  start(): void {
    if (this.#timer || this.#closed) return;
    const interval = this.#options.reportIntervalMs ?? 1000;
    const next = () => {
      this.#timer = setTimeout(
        () => {
          this.#report();
          if (!this.#closed) next();
        },
        interval - (Date.now() % interval) + 10,
      );
      this.#timer.unref();
    };
    next();
  }

  /**
   * Gives a new client connection of the gateway straight to a ready replica when the activator is out of the
   * function's path (the burst rule) and no containerConcurrency has to be enforced here: its requests then skip
   * the activator, as they skip Knative's once it steps out, and the replica reports their load
   * (functions/sdk/handoff.ts). Connections go round-robin over ready replicas. False when the connection stays
   * with the gateway (the activator in the path, a limit to enforce, no runtime that can hand over sockets).
   */
  handoff(namespace: string, name: string, socket: Socket, message: HandoffMessage): boolean {
    const hand = this.#options.runtime.handoff;
    const state = this.#functions.get(functionKey(namespace, name));
    if (!hand || !state || state.inPath || state.settings.containerConcurrency > 0) return false;
    const backends = state.balancer.backends;
    if (backends.length === 0) return false;
    const backend = backends[state.nextHandoff++ % backends.length]!;
    return hand.call(this.#options.runtime, state.key, backend.id, socket, message);
  }

  /**
   * Sends one request to a replica of `ns/name`, waiting for a slot if needed, and hands the answer to `sink` as it
   * arrives (the gateway's path: no promise, stream or timer per request while a slot is free). A request that
   * never reached a handler (refused, or cut by a replica being stopped) is tried on another replica within the
   * deadline. Failures reach `sink.onError`: 404 unknown function, 503 queue full, 504 deadline, 503 replica failed.
   */
  relay(namespace: string, name: string, req: DispatchRequest, sink: ResponseSink): RelayHandle {
    const state = this.#functions.get(functionKey(namespace, name));
    if (!state) {
      sink.onError(new ElasticServingError('ES_ERR_NOT_FOUND', `no function ${namespace}/${name}`), false);
      return NOTHING_TO_ABORT;
    }
    const relay = new Relay(
      state,
      this.#host,
      {
        method: req.method ?? 'POST',
        path: req.path ?? '/',
        headers: forwardHeaders(req.headers ?? {}),
        body: req.body ?? null,
        signal: req.signal,
      },
      sink,
    );
    relay.start();
    return relay;
  }

  /**
   * `relay` with the answer as a stream handed to `onResponse`; resolves once `onResponse` has. Throws
   * ElasticServingError: 404 unknown function, 503 queue full, 504 deadline.
   */
  forward(namespace: string, name: string, req: DispatchRequest, onResponse: ResponseHandler): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let body: Readable | undefined;
      let complete = false;
      const call = this.relay(namespace, name, req, {
        onHeaders: (status, rawHeaders, resume) => {
          const stream = new Readable({ read: () => resume() });
          // The handler sees a cut answer through its reads; unread, the error must not go unhandled.
          stream.on('error', () => {});
          body = stream;
          let handled: Promise<void>;
          try {
            handled = onResponse(status, headersFromRaw(rawHeaders), stream, () => {});
          } catch (err) {
            handled = Promise.reject(err);
          }
          handled.then(
            () => {
              if (!complete) call.abort();
              resolve();
            },
            (err: unknown) => {
              call.abort();
              reject(
                err instanceof ElasticServingError
                  ? err
                  : new ElasticServingError('ES_ERR_BACKEND_UNAVAILABLE', `${namespace}/${name}: ${String(err)}`, {
                      cause: err,
                    }),
              );
            },
          );
        },
        onData: (chunk) => body!.push(chunk),
        onComplete: () => {
          complete = true;
          body!.push(null);
        },
        onError: (err, answered) => {
          if (answered) body!.destroy(err);
          else reject(err);
        },
      });
    });
  }

  /** The whole answer read; activator errors come back as the status and body HTTP would give. */
  dispatch(namespace: string, name: string, req: DispatchRequest): Promise<DispatchResponse> {
    return new Promise<DispatchResponse>((resolve) => {
      let statusCode = 0;
      let headers: DispatchResponse['headers'] = {};
      const chunks: Buffer[] = [];
      this.relay(namespace, name, req, {
        onHeaders: (status, rawHeaders) => {
          statusCode = status;
          headers = headersFromRaw(rawHeaders);
        },
        onData: (chunk) => chunks.push(chunk) > 0,
        onComplete: () =>
          resolve({ statusCode, headers, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) }),
        onError: (err) => resolve(errorResponse(err)),
      });
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#unsubscribe();
    for (const s of this.#functions.values())
      s.balancer.rejectAll(new ElasticServingError('ES_ERR_SHUTTING_DOWN', 'the activator is stopping'));
    await this.#pools.close();
  }

  /**
   * Whether a failed request surely never ran, so sending it to another replica cannot run it twice: the
   * connection was refused, or it was cut by a replica we were stopping (a request written to an idle keep-alive
   * socket just as the draining replica closed it). A replica that crashed mid-request may have run part of it:
   * that failure goes back to the caller (for a Trigger, its delivery spec decides the retry).
   */
  #unsent(state: FunctionState, backend: Backend, err: unknown): boolean {
    const code = (err as { code?: string }).code;
    if (code === 'ECONNREFUSED') return true;
    if (code !== 'ECONNRESET' && code !== 'UND_ERR_SOCKET') return false;
    const replica = this.#options.runtime.replicas(state.key).find((r) => r.id === backend.id);
    return replica === undefined || replica.state === 'stopping';
  }

  #poke(state: FunctionState): void {
    const now = performance.now();
    if (now - state.lastPoke < POKE_INTERVAL_MS) return;
    state.lastPoke = now;
    try {
      this.#options.autoscaler?.poke(state.key);
    } catch {
      // a function with fixed replicas is not the autoscaler's: nothing to wake
    }
  }

  /** Takes the ready replicas of `fn` from the runtime, then drops pools of replicas that are gone. */
  #sync(fn: string): void {
    const state = this.#functions.get(fn);
    if (state) {
      const ready: { id: string; port: number }[] = [];
      for (const r of this.#options.runtime.replicas(fn))
        if (r.ready && r.port !== undefined) ready.push({ id: r.id, port: r.port });
      state.balancer.setReady(ready);
      if (ready.length > 0) state.lastPoke = Number.NEGATIVE_INFINITY;
      this.#decidePath(state, performance.now());
    }
    const live = new Set<number>();
    for (const s of this.#functions.values()) for (const b of s.balancer.backends) live.add(b.port);
    this.#pools.retain(live);
  }

  #decidePath(state: FunctionState, now: number): void {
    const s = state.settings;
    const metric = s.metric ?? 'concurrency';
    state.inPath = activatorInPath({
      ready: state.balancer.backends.length,
      capacityPerReplica: s.capacityPerReplica ?? (s.containerConcurrency > 0 ? s.containerConcurrency : 100),
      panicValue: state.recent.mean(now, s.panicWindowMs ?? 6000, metric),
      targetBurstCapacity: s.targetBurstCapacity ?? DEFAULT_TARGET_BURST_CAPACITY,
    });
  }

  #report(): void {
    const now = performance.now();
    const direct = this.#options.runtime.takeDirectLoad;
    for (const state of this.#functions.values()) {
      const sample = state.meter.take(now);
      if (direct) {
        const load = direct.call(this.#options.runtime, state.key);
        sample.concurrency += load.concurrency;
        sample.requests += load.requests;
      }
      state.recent.add(now, sample);
      this.#decidePath(state, now);
      try {
        this.#options.autoscaler?.record(state.key, { concurrency: sample.concurrency, requests: sample.requests });
      } catch {
        // a function the autoscaler does not know (fixed replicas) is not an error of the data path
      }
    }
  }

  #explain(state: FunctionState, hadReplicas: boolean): string {
    const cc = state.settings.containerConcurrency;
    if (hadReplicas) {
      return `all ${state.balancer.backends.length} ready replicas were busy (containerConcurrency ${cc}), ${state.balancer.queued} requests queued`;
    }
    const replicas = this.#options.runtime.replicas(state.key);
    const failing = replicas.find((r) => r.state === 'backoff' && r.lastError);
    const starting = replicas.filter((r) => r.state === 'starting').length;
    const parts = [
      failing
        ? `replica ${failing.id} is failing: ${failing.lastError}`
        : starting > 0
          ? `${starting} replicas still starting`
          : 'no replica is running',
    ];
    const why = this.#options.explain?.(state.key);
    if (why) parts.push(why);
    return parts.join('; ');
  }
}
