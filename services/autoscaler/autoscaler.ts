import { Registry } from 'prom-client';
import type {
  AutoscalerLogger,
  AutoscalerOptions,
  AutoscalerStatus,
  ScaleActuator,
  ScalingSources,
} from './contract.ts';
import { decide, effectiveTarget } from './decide.ts';
import { type AutoscalerMetrics, createAutoscalerMetrics } from './metrics.ts';
import { readQueueDepth } from './queue-depth.ts';
import { resolveDefaults } from './settings.ts';
import type { AutoscalerDefaults, Decision, ScalerState, ScalingSettings } from './types.ts';
import { initialState, recordSample } from './window.ts';

interface Entry {
  settings: ScalingSettings;
  sources: ScalingSources;
  state: ScalerState;
  decision: Decision | undefined;
  poked: boolean;
  queueDepth: number | undefined;
  fetching: Promise<void> | undefined;
  actuating: boolean;
  /** Last count the actuator accepted; undefined until the first success. */
  actuated: number | undefined;
}

const silent: AutoscalerLogger = { info() {}, warn() {}, debug() {} };

/**
 * The autoscaling loop: collects samples, runs {@link decide} for every registered function each tick (and at
 * once on a poke), and hands the result to the actuator — never two scale calls for one function at a time; a
 * failed call is retried on the next tick. A queue-depth source that fails or times out makes the depth unknown,
 * which holds the scale (never read as an empty queue).
 */
export class Autoscaler {
  readonly defaults: AutoscalerDefaults;
  readonly #actuator: ScaleActuator;
  readonly #clock: () => number;
  readonly #log: AutoscalerLogger;
  readonly #metrics: AutoscalerMetrics;
  readonly #queueTimeoutMs: number;
  readonly #fns = new Map<string, Entry>();
  readonly #listeners = new Set<(fn: string, status: AutoscalerStatus) => void>();
  readonly #pending = new Set<Promise<unknown>>();
  #timer: NodeJS.Timeout | undefined;
  #ticking = false;
  #closed = false;

  constructor(options: AutoscalerOptions) {
    this.defaults = resolveDefaults(options.defaults);
    this.#actuator = options.actuator;
    this.#clock = options.clock ?? Date.now;
    this.#log = options.logger ?? silent;
    this.#metrics = createAutoscalerMetrics(options.registry ?? new Registry());
    this.#queueTimeoutMs = options.queueDepthTimeoutMs ?? 5000;
  }

  /** Starts watching `fn`, or updates its settings (and sources, when given) keeping its history. */
  register(fn: string, settings: ScalingSettings, sources?: ScalingSources): void {
    const known = this.#fns.get(fn);
    if (known !== undefined) {
      known.settings = settings;
      if (sources !== undefined) known.sources = sources;
      if (settings.queue === undefined || known.sources.queueDepth === undefined) known.queueDepth = undefined;
    } else {
      const ready = this.#actuator.readyReplicas(fn);
      const state = initialState(this.#clock(), { ready, initialScale: settings.initialScale });
      this.#fns.set(fn, {
        settings,
        sources: sources ?? {},
        state,
        decision: undefined,
        poked: false,
        queueDepth: undefined,
        fetching: undefined,
        actuating: false,
        actuated: undefined,
      });
    }
    this.#track(this.#evaluate(fn).catch((err) => this.#failed(fn, err)));
  }

  /** Stops watching `fn` (its replicas are left as they are) and drops its gauges. */
  unregister(fn: string): void {
    if (this.#fns.delete(fn)) this.#metrics.forget(fn);
  }

  /**
   * One report, made once a second by each reporter (activator/gateway): the time-averaged in-flight requests and
   * the requests started over the second before `at`. Reports of one second add up. Traffic for a function the
   * autoscaler has at zero counts as a poke.
   */
  record(fn: string, sample: { concurrency: number; requests: number }, at = this.#clock()): void {
    const entry = this.#fns.get(fn);
    if (entry === undefined) return;
    entry.state = recordSample(entry.state, sample, at, entry.settings.stableWindowMs);
    if ((sample.concurrency > 0 || sample.requests > 0) && entry.state.desired === 0) this.poke(fn);
    else if (this.#burst(fn, entry, sample)) this.#decideNow(fn, entry);
  }

  /**
   * Whether a report alone would put the function in panic (wanted ÷ ready at or over the threshold): then the
   * decision is taken at once rather than at the next tick, which would otherwise add up to a tick to a step.
   */
  #burst(fn: string, entry: Entry, sample: { concurrency: number; requests: number }): boolean {
    if (this.#closed) return false;
    const observed = entry.settings.metric === 'rps' ? sample.requests : sample.concurrency;
    const wanted = Math.ceil(observed / effectiveTarget(entry.settings));
    return wanted / Math.max(1, this.#actuator.readyReplicas(fn)) >= entry.settings.panicThreshold;
  }

  /** A request is waiting for `fn`: decide and actuate now rather than at the next tick. */
  poke(fn: string): void {
    const entry = this.#fns.get(fn);
    if (entry === undefined || this.#closed) return;
    entry.poked = true;
    this.#decideNow(fn, entry);
  }

  status(fn: string): AutoscalerStatus | undefined {
    const entry = this.#fns.get(fn);
    if (entry === undefined) return undefined;
    const d = entry.decision;
    return {
      desired: d?.desired ?? entry.state.desired,
      ready: this.#actuator.readyReplicas(fn),
      panic: d?.panic ?? false,
      metric: entry.settings.metric,
      value: d?.value ?? 0,
      target: d?.target ?? effectiveTarget(entry.settings),
      queueDepth: d?.queueDepth,
      reason: d?.reason ?? 'no decision yet',
    };
  }

  /** Called after every decision; returns an unsubscribe. */
  onDecision(cb: (fn: string, status: AutoscalerStatus) => void): () => void {
    this.#listeners.add(cb);
    return () => this.#listeners.delete(cb);
  }

  start(): void {
    if (this.#timer !== undefined || this.#closed) return;
    this.#timer = setInterval(() => void this.tick(), this.defaults.tickMs);
    this.#timer.unref();
  }

  /** One evaluation of every function (what the timer runs); a tick still running makes this one a no-op. */
  async tick(): Promise<void> {
    if (this.#ticking || this.#closed) return;
    this.#ticking = true;
    try {
      await Promise.all([...this.#fns.keys()].map((fn) => this.#evaluate(fn).catch((err) => this.#failed(fn, err))));
    } finally {
      this.#ticking = false;
    }
  }

  /** Stops the loop and waits for scale calls under way. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
    await Promise.allSettled([...this.#pending]);
  }

  async #evaluate(fn: string): Promise<void> {
    const entry = this.#fns.get(fn);
    if (entry === undefined || this.#closed) return;
    if (entry.settings.queue !== undefined && entry.sources.queueDepth !== undefined) {
      entry.fetching ??= this.#fetchQueueDepth(fn, entry, entry.sources.queueDepth).finally(() => {
        entry.fetching = undefined;
      });
      await entry.fetching;
    }
    if (this.#fns.get(fn) === entry && !this.#closed) this.#decideNow(fn, entry);
  }

  async #fetchQueueDepth(fn: string, entry: Entry, source: () => Promise<number>): Promise<void> {
    try {
      entry.queueDepth = await readQueueDepth(source, this.#queueTimeoutMs);
    } catch (err) {
      entry.queueDepth = undefined;
      this.#metrics.queueUnknown(fn);
      this.#log.warn({ function: fn, err }, 'autoscaler: queue depth unknown, holding the current scale');
    }
  }

  #decideNow(fn: string, entry: Entry): void {
    const ready = this.#actuator.readyReplicas(fn);
    const input = { settings: entry.settings, ready, queueDepth: entry.queueDepth, poked: entry.poked };
    const d = decide(entry.state, input, this.#clock());
    const changed = d.desired !== entry.decision?.desired;
    Object.assign(entry, { poked: false, state: d.state, decision: d });
    this.#metrics.observe(fn, d, ready);
    if (changed) this.#log.info({ function: fn, desired: d.desired, ready, reason: d.reason }, 'autoscaler: decision');
    else this.#log.debug({ function: fn, desired: d.desired, ready, reason: d.reason }, 'autoscaler: decision');
    const status = this.status(fn);
    for (const cb of this.#listeners) {
      try {
        if (status !== undefined) cb(fn, status);
      } catch (err) {
        this.#log.warn({ function: fn, err }, 'autoscaler: onDecision listener threw');
      }
    }
    this.#actuate(fn, entry);
  }

  #actuate(fn: string, entry: Entry): void {
    const n = entry.decision?.desired;
    if (entry.actuating || n === undefined || n === entry.actuated || this.#closed) return;
    entry.actuating = true;
    let ok = false;
    const call = this.#actuator
      .scale(fn, n)
      .then(() => {
        ok = true;
        entry.actuated = n;
        this.#metrics.actuated(fn, 'ok');
      })
      .catch((err: unknown) => {
        this.#metrics.actuated(fn, 'error');
        this.#log.warn({ function: fn, replicas: n, err }, 'autoscaler: scale failed; retrying next tick');
      })
      .finally(() => {
        entry.actuating = false;
        // A decision that changed while the call ran goes out now; a failure waits for the next tick.
        if (ok && this.#fns.get(fn) === entry) this.#actuate(fn, entry);
      });
    this.#track(call);
  }

  #failed(fn: string, err: unknown): void {
    this.#log.warn({ function: fn, err }, 'autoscaler: evaluation failed; trying again next tick');
  }

  #track(promise: Promise<unknown>): void {
    this.#pending.add(promise);
    void promise.finally(() => this.#pending.delete(promise));
  }
}
