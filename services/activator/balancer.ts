/**
 * Picks a ready replica for each request of one function: least in-flight first, round robin among ties, never
 * above `containerConcurrency` per replica. Requests that find no free slot wait in a bounded FIFO until a slot
 * frees, a replica becomes ready, or their deadline passes. A function at zero simply has no replicas yet: its
 * requests wait here while the autoscaler starts one.
 */
import { BackendFullError, ElasticServingError } from '../core/errors.ts';

export interface Backend {
  readonly id: string;
  readonly port: number;
  inFlight: number;
  /** Highest in-flight ever seen (tests and metrics). */
  maxInFlight: number;
}

interface Waiter {
  resolve: (b: Backend) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
  exclude: ReadonlySet<string> | undefined;
  done: boolean;
  onAbort: (() => void) | undefined;
  signal: AbortSignal | undefined;
}

export interface BalancerOptions {
  /** Requests one replica may hold at once; 0 = unlimited. */
  containerConcurrency: number;
  /** Requests allowed to wait at once; one more is refused with ES_ERR_BACKEND_FULL. */
  maxQueue: number;
  /** Names the function in error messages. @defaultValue 'function' */
  name?: string;
  /** Says why a request waited in vain (the 504 message): no replica, all busy, a crashing replica… */
  explainTimeout?: (hadReplicas: boolean) => string;
}

export class ReplicaBalancer {
  /** Requests one replica may hold at once; 0 = unlimited. */
  containerConcurrency: number;
  readonly maxQueue: number;
  readonly name: string;
  explainTimeout: ((hadReplicas: boolean) => string) | undefined;
  #backends: Backend[] = [];
  #waiters: Waiter[] = [];
  #head = 0;
  #pending = 0;
  #rr = 0;

  constructor(options: BalancerOptions) {
    this.containerConcurrency = options.containerConcurrency;
    this.maxQueue = options.maxQueue;
    this.name = options.name ?? 'function';
    this.explainTimeout = options.explainTimeout;
  }

  get backends(): readonly Backend[] {
    return this.#backends;
  }

  /** Requests waiting for a slot. */
  get queued(): number {
    return this.#pending;
  }

  /** Requests holding a replica slot. */
  get inFlight(): number {
    let n = 0;
    for (const b of this.#backends) n += b.inFlight;
    return n;
  }

  /** Replaces the ready set, keeping in-flight counts of replicas that stay. */
  setReady(ready: readonly { id: string; port: number }[]): void {
    const byId = new Map(this.#backends.map((b) => [b.id, b]));
    this.#backends = ready.map((r) => {
      const known = byId.get(r.id);
      return known && known.port === r.port ? known : { id: r.id, port: r.port, inFlight: 0, maxInFlight: 0 };
    });
    this.#drain();
  }

  /** A replica with a free slot right now (its in-flight counted), or undefined; never queues. */
  tryPick(exclude?: ReadonlySet<string>): Backend | undefined {
    const list = this.#backends;
    const n = list.length;
    if (n === 0) return undefined;
    const cc = this.containerConcurrency;
    const start = this.#rr++ % n;
    let best: Backend | undefined;
    for (let i = 0; i < n; i++) {
      const b = list[(start + i) % n]!;
      if (cc > 0 && b.inFlight >= cc) continue;
      if (exclude?.has(b.id)) continue;
      if (!best || b.inFlight < best.inFlight) best = b;
    }
    if (best) {
      best.inFlight++;
      if (best.inFlight > best.maxInFlight) best.maxInFlight = best.inFlight;
    }
    return best;
  }

  /**
   * A replica with a free slot (its in-flight already counted), waiting in FIFO order if none; call `release` when
   * done. Rejects with ES_ERR_BACKEND_FULL when the queue is full and ES_ERR_TIMEOUT at `deadline` (epoch ms).
   */
  acquire(deadline: number, signal?: AbortSignal, exclude?: ReadonlySet<string>): Promise<Backend> {
    if (this.#pending === 0) {
      const b = this.tryPick(exclude);
      if (b) return Promise.resolve(b);
    }
    if (this.#pending >= this.maxQueue) {
      return Promise.reject(
        new BackendFullError(
          `${this.name}: activator queue full (${this.maxQueue} waiting); ${this.#backends.length} replicas ready`,
        ),
      );
    }
    return new Promise((resolve, reject) => {
      const waitedFrom = Date.now();
      const waiter: Waiter = {
        resolve,
        reject,
        exclude,
        done: false,
        signal,
        onAbort: undefined,
        timer: setTimeout(() => this.#fail(waiter, this.#timeoutError(waitedFrom)), Math.max(0, deadline - waitedFrom)),
      };
      if (signal) {
        waiter.onAbort = () =>
          this.#fail(waiter, new ElasticServingError('ES_ERR_TIMEOUT', `${this.name}: caller went away while queued`));
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.#waiters.push(waiter);
      this.#pending++;
    });
  }

  release(b: Backend): void {
    b.inFlight--;
    if (this.#pending > 0) this.#drain();
  }

  /** Fails every waiting request (the function was removed). */
  rejectAll(err: Error): void {
    for (let i = this.#head; i < this.#waiters.length; i++) this.#fail(this.#waiters[i]!, err);
    this.#waiters = [];
    this.#head = 0;
  }

  #timeoutError(waitedFrom: number): ElasticServingError {
    const had = this.#backends.length > 0;
    const why = this.explainTimeout?.(had) ?? (had ? 'every ready replica was busy' : 'no replica became ready');
    const secs = ((Date.now() - waitedFrom) / 1000).toFixed(1);
    return new ElasticServingError('ES_ERR_TIMEOUT', `${this.name}: queued ${secs}s until the deadline: ${why}`);
  }

  #fail(w: Waiter, err: Error): void {
    if (w.done) return;
    w.done = true;
    this.#pending--;
    clearTimeout(w.timer);
    if (w.onAbort) w.signal?.removeEventListener('abort', w.onAbort);
    w.reject(err);
  }

  #drain(): void {
    while (this.#head < this.#waiters.length) {
      const w = this.#waiters[this.#head]!;
      if (w.done) {
        this.#head++;
        continue;
      }
      const b = this.tryPick(w.exclude);
      if (!b) break;
      this.#head++;
      w.done = true;
      this.#pending--;
      clearTimeout(w.timer);
      if (w.onAbort) w.signal?.removeEventListener('abort', w.onAbort);
      w.resolve(b);
    }
    if (this.#head === this.#waiters.length) {
      this.#waiters = [];
      this.#head = 0;
    }
    // Compact now and then so the array does not grow with every request ever queued.
    if (this.#head > 1024 && this.#head * 2 > this.#waiters.length) {
      this.#waiters = this.#waiters.slice(this.#head);
      this.#head = 0;
    }
  }
}
