/**
 * Picks a ready replica for each request of one function: least in-flight first, round robin among ties, never
 * above `containerConcurrency` per replica. Requests that find no capacity wait in a bounded FIFO until a slot
 * frees, a replica becomes ready, or their deadline passes. This is where an activator plugs in: a function at zero
 * simply has no replicas yet, and its requests wait here.
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

export class ReplicaBalancer {
  /** Requests one replica may hold at once; 0 = unlimited. */
  containerConcurrency: number;
  readonly maxQueue: number;
  #backends: Backend[] = [];
  #waiters: Waiter[] = [];
  #head = 0;
  #pending = 0;
  #rr = 0;

  constructor(containerConcurrency: number, maxQueue: number) {
    this.containerConcurrency = containerConcurrency;
    this.maxQueue = maxQueue;
  }

  get backends(): readonly Backend[] {
    return this.#backends;
  }

  get queued(): number {
    return this.#pending;
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

  #pick(exclude?: ReadonlySet<string>): Backend | undefined {
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
   * A replica with a free slot (its in-flight already counted), waiting if none; call `release` when done.
   * Rejects with ES_ERR_BACKEND_FULL when the queue is full and ES_ERR_TIMEOUT at `deadline` (epoch ms).
   */
  acquire(deadline: number, signal?: AbortSignal, exclude?: ReadonlySet<string>): Promise<Backend> {
    if (this.queued === 0) {
      const b = this.#pick(exclude);
      if (b) return Promise.resolve(b);
    }
    if (this.queued >= this.maxQueue) {
      return Promise.reject(new BackendFullError(`function queue is full (${this.maxQueue} requests waiting)`));
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        exclude,
        done: false,
        signal,
        onAbort: undefined,
        timer: setTimeout(
          () =>
            this.#fail(
              waiter,
              new ElasticServingError(
                'ES_ERR_TIMEOUT',
                this.#backends.length === 0
                  ? 'no ready replica before the deadline'
                  : 'no free replica slot before the deadline',
              ),
            ),
          Math.max(0, deadline - Date.now()),
        ),
      };
      if (signal) {
        waiter.onAbort = () =>
          this.#fail(waiter, new ElasticServingError('ES_ERR_TIMEOUT', 'caller went away while queued'));
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.#waiters.push(waiter);
      this.#pending++;
    });
  }

  release(b: Backend): void {
    b.inFlight--;
    if (this.queued > 0) this.#drain();
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
      const b = this.#pick(w.exclude);
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
