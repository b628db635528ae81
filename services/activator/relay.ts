/**
 * One request through the activator, from arrival to the end of the replica's answer, driven by undici's dispatcher
 * callbacks. On the hot path (a free slot) nothing per request is a promise, a stream, a timer or an AbortSignal:
 * the request takes a slot, goes to the replica's keep-alive pool, and the answer is handed to a `ResponseSink` piece
 * by piece as undici parses it. Only a request that must wait for a slot takes the promise and deadline timer of
 * the balancer's queue.
 *
 * Semantics kept from the activator's contract: the request is counted (meter, counters) from arrival to the end
 * of its answer; a slot is held from the pick to the end of the answer; a request that surely never reached a
 * handler is tried on another replica (at most RETRIES more) within its deadline; headers and body timeouts are
 * the time left to the deadline.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { type Dispatcher, util } from 'undici';
import { ElasticServingError } from '../core/errors.ts';
import type { Backend, ReplicaBalancer } from './balancer.ts';
import type { ConcurrencyMeter } from './meter.ts';
import type { FunctionCounters } from './metrics.ts';

/** Receives a replica's answer as undici parses it; its methods must not throw. */
export interface ResponseSink {
  /**
   * The replica answered. `rawHeaders` is `[name, value, …]` as received (see `headersFromRaw`); `resume` restarts
   * reading after `onData` returned false.
   */
  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): void;
  /** A piece of the body; return false to stop reading it until `resume` is called (backpressure). */
  onData(chunk: Buffer): boolean;
  /** The whole answer arrived. */
  onComplete(): void;
  /**
   * The request failed: 404 unknown function, 503 queue full, 504 deadline, 503 replica failure. Before `onHeaders`
   * (`answered` false) it is the error to answer with; after it, why the answer was cut. May be called before
   * `Activator.relay` returns.
   */
  onError(err: ElasticServingError, answered: boolean): void;
}

/** A request under way; `abort` says its caller went away (it leaves the queue, or its replica call is cut). */
export interface RelayHandle {
  abort(): void;
}

/** What a relay needs from its function (the activator's per-function state). */
export interface RelayTarget {
  readonly key: string;
  readonly balancer: ReplicaBalancer;
  readonly meter: ConcurrencyMeter;
  readonly counters: FunctionCounters | undefined;
  readonly settings: { readonly timeoutSeconds: number };
}

/** What a relay needs from the activator. */
export interface RelayHost<T extends RelayTarget> {
  /** The keep-alive pool of a replica. */
  pool(port: number): Dispatcher;
  /** Whether a failed call surely never ran (so another replica may take it). */
  unsent(target: T, backend: Backend, err: unknown): boolean;
  /** A request waits for a function with no ready replica. */
  poke(target: T): void;
}

/** The request to relay, headers already stripped of hop-by-hop fields (`forwardHeaders`). */
export interface RelayRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[]> | string[];
  body: Buffer | null;
  signal: AbortSignal | undefined;
}

/** Replicas tried for one request when the first could not have run it (see `RelayHost.unsent`). */
export const RETRIES = 2;

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'host',
  'content-length',
]);

/**
 * Request headers for a replica: hop-by-hop fields, `host` and `content-length` dropped (undici sets its own). A
 * raw `[name, value, …]` list (IncomingMessage.rawHeaders) stays a list, which spares building the headers object.
 */
export function forwardHeaders(
  headers: IncomingHttpHeaders | Record<string, string> | readonly string[],
): Record<string, string | string[]> | string[] {
  if (Array.isArray(headers)) {
    const raw = headers as readonly string[];
    const out: string[] = [];
    for (let i = 0; i < raw.length; i += 2) {
      if (!HOP_BY_HOP.has(raw[i]!.toLowerCase())) out.push(raw[i]!, raw[i + 1]!);
    }
    return out;
  }
  const out: Record<string, string | string[]> = {};
  const obj = headers as IncomingHttpHeaders;
  for (const key in obj) {
    const value = obj[key];
    if (value !== undefined && !HOP_BY_HOP.has(key)) out[key] = value;
  }
  return out;
}

/**
 * A replica's raw headers as an object (lower-case names, latin1 values, repeated names as arrays, as undici's
 * `request` gives them), leaving out the names in `skip`.
 */
export function headersFromRaw(raw: readonly Buffer[], skip?: ReadonlySet<string>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const key = util.headerNameToString(raw[i]!);
    if (skip?.has(key) || key === '__proto__') continue;
    const value = raw[i + 1]!.toString('latin1');
    const had = out[key];
    if (had === undefined) out[key] = value;
    else if (typeof had === 'string') out[key] = [had, value];
    else had.push(value);
  }
  return out;
}

type Phase = 'waiting' | 'calling' | 'answering' | 'done';

/**
 * One request through the activator; also the undici dispatch handler of each of its calls to a replica (the
 * callback API undici's core drives directly, without the adapter object of the `onResponse*` API).
 */
export class Relay<T extends RelayTarget> implements Dispatcher.DispatchHandler, RelayHandle {
  readonly #target: T;
  readonly #host: RelayHost<T>;
  readonly #req: RelayRequest;
  readonly #sink: ResponseSink;
  /** Epoch ms; queueing and every call to a replica count against it. */
  readonly #deadline: number;
  #phase: Phase = 'waiting';
  #backend: Backend | undefined;
  #tried: Set<string> | undefined;
  #attempt = 0;
  #aborted = false;
  /** Cuts the current call (undici's `onConnect` hands it over). */
  #cut: ((err?: Error) => void) | undefined;
  /** Takes a queued request out of the balancer's queue. */
  #leaveQueue: AbortController | undefined;
  #onSignal: (() => void) | undefined;

  constructor(target: T, host: RelayHost<T>, req: RelayRequest, sink: ResponseSink) {
    this.#target = target;
    this.#host = host;
    this.#req = req;
    this.#sink = sink;
    this.#deadline = Date.now() + target.settings.timeoutSeconds * 1000;
  }

  /** Counts the request and sends it to a replica with a free slot, or queues it for one. */
  start(): void {
    this.#target.meter.arrive(performance.now());
    this.#target.counters?.requests.inc();
    const signal = this.#req.signal;
    if (signal) {
      if (signal.aborted) {
        this.#aborted = true;
        this.#fail(new ElasticServingError('ES_ERR_TIMEOUT', `${this.#target.key}: the caller went away`));
        return;
      }
      this.#onSignal = () => this.abort();
      signal.addEventListener('abort', this.#onSignal, { once: true });
    }
    this.#next();
  }

  abort(): void {
    if (this.#aborted || this.#phase === 'done') return;
    this.#aborted = true;
    if (this.#phase === 'waiting') this.#leaveQueue?.abort();
    else this.#cut?.(new ElasticServingError('ES_ERR_TIMEOUT', `${this.#target.key}: the caller went away`));
  }

  // undici dispatch handler: one call to one replica.

  onConnect(abort: (err?: Error) => void): void {
    if (this.#aborted) abort(new ElasticServingError('ES_ERR_TIMEOUT', `${this.#target.key}: the caller went away`));
    else this.#cut = abort;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    if (statusCode < 200) return true; // 1xx: informational, the answer is still to come
    this.#phase = 'answering';
    this.#sink.onHeaders(statusCode, rawHeaders, resume);
    return true;
  }

  onData(chunk: Buffer): boolean {
    return this.#sink.onData(chunk);
  }

  onComplete(): void {
    this.#release();
    this.#finish();
    this.#sink.onComplete();
  }

  onError(err: Error): void {
    const backend = this.#release();
    if (
      this.#phase === 'calling' &&
      backend &&
      !this.#aborted &&
      this.#attempt < RETRIES &&
      Date.now() < this.#deadline &&
      this.#host.unsent(this.#target, backend, err)
    ) {
      this.#attempt++;
      this.#tried ??= new Set();
      this.#tried.add(backend.id);
      this.#phase = 'waiting';
      this.#next();
      return;
    }
    const answered = this.#phase === 'answering';
    this.#finish();
    this.#sink.onError(this.#failure(err, backend), answered);
  }

  /** What a failed call answers with: 504 past the deadline, else 503 naming the replica. */
  #failure(err: Error, backend: Backend | undefined): ElasticServingError {
    if (err instanceof ElasticServingError) return err;
    const { key, settings } = this.#target;
    const code = (err as { code?: string }).code;
    if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
      return new ElasticServingError(
        'ES_ERR_TIMEOUT',
        `${key}: function did not answer within ${settings.timeoutSeconds}s`,
        { cause: err },
      );
    }
    return new ElasticServingError(
      'ES_ERR_BACKEND_UNAVAILABLE',
      `${key}: replica ${backend?.id ?? '?'} failed: ${err.message}`,
      { cause: err },
    );
  }

  /** A free slot now when nobody is queued ahead (FIFO either way), else the queue. */
  #next(): void {
    const balancer = this.#target.balancer;
    const backend = balancer.queued === 0 ? balancer.tryPick(this.#tried) : undefined;
    if (backend) {
      this.#call(backend);
      return;
    }
    if (balancer.backends.length === 0) this.#host.poke(this.#target);
    const leave = new AbortController();
    this.#leaveQueue = leave;
    balancer.acquire(this.#deadline, leave.signal, this.#tried).then(
      (b) => {
        this.#leaveQueue = undefined;
        this.#call(b);
      },
      (err: ElasticServingError) => {
        this.#leaveQueue = undefined;
        this.#target.counters?.rejected(err.code === 'ES_ERR_BACKEND_FULL' ? 'queue_full' : 'timeout');
        this.#fail(err);
      },
    );
  }

  #call(backend: Backend): void {
    this.#backend = backend;
    this.#phase = 'calling';
    this.#cut = undefined;
    const remaining = Math.max(1, this.#deadline - Date.now());
    const req = this.#req;
    this.#host.pool(backend.port).dispatch(
      {
        method: req.method,
        path: req.path,
        headers: req.headers,
        body: req.body,
        headersTimeout: remaining,
        bodyTimeout: remaining,
      },
      this,
    );
  }

  /** Gives the slot back (once per call); returns the replica that held it. */
  #release(): Backend | undefined {
    const backend = this.#backend;
    if (backend) {
      this.#backend = undefined;
      this.#target.balancer.release(backend);
    }
    return backend;
  }

  #finish(): void {
    this.#phase = 'done';
    this.#cut = undefined;
    this.#target.meter.leave(performance.now());
    if (this.#onSignal) this.#req.signal?.removeEventListener('abort', this.#onSignal);
  }

  #fail(err: ElasticServingError): void {
    this.#finish();
    this.#sink.onError(err, false);
  }
}
