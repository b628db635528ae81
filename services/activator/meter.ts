/**
 * Per-function load as the autoscaler wants it: the time-averaged number of requests in the activator (waiting
 * or at a replica) over each report interval, and how many arrived. Time-averaging (the area under the in-flight
 * curve divided by the interval) counts a request that lasted 10 ms as 0.01 of a slot-second, as Knative's
 * queue-proxy does, so a burst of short requests does not read as a high concurrency.
 */
export interface LoadSample {
  /** Average requests in flight (queued included) over the interval. */
  concurrency: number;
  /** Requests that arrived during the interval. */
  requests: number;
  /** Length of the interval in ms. */
  ms: number;
}

export class ConcurrencyMeter {
  #current = 0;
  #area = 0;
  #last: number;
  #from: number;
  #requests = 0;

  constructor(now: number) {
    this.#last = now;
    this.#from = now;
  }

  /** Requests in flight right now, queued included. */
  get current(): number {
    return this.#current;
  }

  arrive(now: number): void {
    this.#area += this.#current * (now - this.#last);
    this.#last = now;
    this.#current++;
    this.#requests++;
  }

  leave(now: number): void {
    this.#area += this.#current * (now - this.#last);
    this.#last = now;
    this.#current--;
  }

  /** The interval since the previous `take`, and starts the next one. */
  take(now: number): LoadSample {
    this.#area += this.#current * (now - this.#last);
    this.#last = now;
    const ms = now - this.#from;
    const sample = { concurrency: ms > 0 ? this.#area / ms : this.#current, requests: this.#requests, ms };
    this.#area = 0;
    this.#requests = 0;
    this.#from = now;
    return sample;
  }
}

/** Mean of the recent samples within a window (the panic window), for the burst-capacity rule. */
export class RecentAverage {
  #samples: { at: number; concurrency: number; rps: number }[] = [];

  add(at: number, sample: LoadSample): void {
    const seconds = sample.ms / 1000;
    this.#samples.push({ at, concurrency: sample.concurrency, rps: seconds > 0 ? sample.requests / seconds : 0 });
    if (this.#samples.length > 600) this.#samples.shift();
  }

  /** Average of the samples taken within `windowMs` before `now` (0 when there are none). */
  mean(now: number, windowMs: number, metric: 'concurrency' | 'rps'): number {
    let sum = 0;
    let n = 0;
    for (let i = this.#samples.length - 1; i >= 0; i--) {
      const s = this.#samples[i]!;
      if (now - s.at > windowMs) break;
      sum += s[metric];
      n++;
    }
    return n === 0 ? 0 : sum / n;
  }
}
