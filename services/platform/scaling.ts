/**
 * Scale from zero in the embedded platform: the autoscaler, the activator in front of every Function, and the
 * local runtime as the autoscaler's actuator, wired together; plus the Function status they produce.
 *
 * How a Function's replica count is decided (Knative has no replicas field; ours predates the autoscaler):
 * - `spec.replicas` alone (no `spec.scaling`, no `autoscaling.knative.dev/*` annotation): that many replicas,
 *   always — the autoscaler leaves the Function alone; the activator still balances and queues its requests.
 * - otherwise the autoscaler decides from `spec.scaling` and the annotations (KPA defaults: min 0, initial 1),
 *   and `spec.replicas`, if also given, is ignored.
 * Queue depth: the EventLog lag of every Trigger whose subscriber is the Function (trackTrigger), and any other
 * source registered with `registerQueueSource` (BullMQ queues), summed; it counts only when the Function sets
 * `spec.scaling.queue`.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { Activator } from '../activator/activator.ts';
import { DEFAULT_TARGET_BURST_CAPACITY } from '../activator/burst.ts';
import {
  Autoscaler,
  type AutoscalerDefaults,
  eventLogLag,
  panicWindowMs,
  type QueueDepthSource,
  scalingSettings,
} from '../autoscaler/index.ts';
import type { StatusPatch } from '../controller/reconciler.ts';
import type { FunctionSpec, ResolvedFunctionSpec, TriggerSpec } from '../controller/resources/index.ts';
import type { Resource } from '../controller/resources/types.ts';
import type { ResourceStore } from '../controller/store.ts';
import { InvalidResourceError } from '../core/errors.ts';
import { registerRuntimeMetrics } from '../runtime/metrics.ts';
import type { LocalRuntime } from '../runtime/supervisor.ts';
import { functionKey, splitFunctionKey } from '../runtime/types.ts';
import type { Destination } from './addresses.ts';
import { functionStatus, markFunctionStatus } from './function-status.ts';
import type { PlatformOptions } from './options.ts';
import type { BrokerRegistry } from './reconcilers/brokers.ts';
import { functionRef, triggerGroup, triggerKey } from './reconcilers/triggers.ts';

export interface PlatformScalingOptions {
  runtime: LocalRuntime;
  /** Where Function status is written when replicas or decisions change. */
  store: ResourceStore;
  /** `es_activator_*`, `es_autoscaler_*` and `es_runtime_*` metrics go here. */
  registry: Registry;
  logger: Logger;
  /** Autoscaler settings for every Function (short windows in tests). @defaultValue Knative's (AUTOSCALER_DEFAULTS) */
  autoscaler?: Partial<AutoscalerDefaults>;
  /** Knative's target-burst-capacity for Functions without the annotation. @defaultValue 200 */
  targetBurstCapacity?: number;
  /** Requests the activator holds per Function before answering 503. @defaultValue 10000 */
  activatorQueue?: number;
}

/** What the Function reconciler asks of scaling. */
export interface FunctionScaling {
  /** Puts the Function behind the activator and under the autoscaler (or at its fixed count). */
  serve(fn: Resource, spec: ResolvedFunctionSpec): Promise<void>;
  /** Forgets a deleted Function (its replicas are removed by the runtime). */
  remove(key: string): void;
  /** Replica and scale status fields, with the Ready condition. */
  status(key: string): StatusPatch;
}

const ANNOTATION_PREFIX = 'autoscaling.knative.dev/';
const TBC_ANNOTATIONS = [`${ANNOTATION_PREFIX}target-burst-capacity`, `${ANNOTATION_PREFIX}targetBurstCapacity`];
/** A status whose only change is the observed value is rewritten at most this often. */
const VALUE_ONLY_WRITE_MS = 5000;

/** `spec.replicas` when it alone decides the count (see the module comment), else undefined. */
export function fixedReplicas(
  spec: FunctionSpec,
  annotations: Readonly<Record<string, string>> = {},
): number | undefined {
  if (spec.replicas === undefined || spec.scaling !== undefined) return undefined;
  return Object.keys(annotations).some((k) => k.startsWith(ANNOTATION_PREFIX)) ? undefined : spec.replicas;
}

/** `autoscaling.knative.dev/target-burst-capacity`: a number ≥ 0, or -1 (activator always in the path). */
export function targetBurstCapacity(annotations: Readonly<Record<string, string>>, fallback: number): number {
  const key = TBC_ANNOTATIONS.find((k) => annotations[k] !== undefined);
  if (key === undefined) return fallback;
  const text = annotations[key]!.trim();
  const n = /^-?\d*\.?\d+$/.test(text) ? Number(text) : Number.NaN;
  if (n === -1 || n >= 0) return n;
  throw new InvalidResourceError(
    `metadata.annotations["${key}"]: ${JSON.stringify(text)} must be -1 or a number >= 0`,
    [{ path: `metadata.annotations["${key}"]`, message: 'must be -1 or a number >= 0' }],
  );
}

interface Written {
  signature: string;
  reason: string;
  at: number;
  writing: boolean;
  again: boolean;
}

export class PlatformScaling implements FunctionScaling {
  readonly autoscaler: Autoscaler;
  readonly activator: Activator;
  #runtime: LocalRuntime;
  #store: ResourceStore;
  #logger: Logger;
  #tbc: number;
  #fixed = new Map<string, number>();
  /** Served functions by key, with the kind whose status shows their scale (Function or InferenceService). */
  #served = new Map<string, string>();
  #queues = new Map<string, Map<string, QueueDepthSource>>();
  #written = new Map<string, Written>();
  #unsubscribe: (() => void)[] = [];

  constructor(options: PlatformScalingOptions) {
    const { runtime, logger } = options;
    this.#runtime = runtime;
    this.#store = options.store;
    this.#logger = logger;
    this.#tbc = options.targetBurstCapacity ?? DEFAULT_TARGET_BURST_CAPACITY;
    this.autoscaler = new Autoscaler({
      actuator: { scale: (fn, n) => this.#scale(fn, n), readyReplicas: (fn) => runtime.readyReplicas(fn) },
      ...(options.autoscaler ? { defaults: options.autoscaler } : {}),
      registry: options.registry,
      logger: logger.child({ svc: 'autoscaler' }),
    });
    this.activator = new Activator({
      runtime,
      autoscaler: this.autoscaler,
      maxQueue: options.activatorQueue ?? 10_000,
      registry: options.registry,
      explain: (fn) => {
        const s = this.autoscaler.status(fn);
        return s ? `autoscaler wants ${s.desired} (${s.reason})` : undefined;
      },
    });
    registerRuntimeMetrics(options.registry, runtime);
    this.#unsubscribe.push(
      runtime.onChange((fn) => this.#statusChanged(fn)),
      this.autoscaler.onDecision((fn) => this.#statusChanged(fn)),
    );
  }

  /** Starts the autoscaler's loop and the activator's load reports. */
  start(): void {
    this.autoscaler.start();
    this.activator.start();
  }

  async serve(fn: Resource, spec: ResolvedFunctionSpec): Promise<void> {
    const namespace = fn.metadata.namespace ?? 'default';
    const name = fn.metadata.name;
    const key = functionKey(namespace, name);
    const raw = fn.spec as unknown as FunctionSpec;
    const annotations = fn.metadata.annotations ?? {};
    const fixed = fixedReplicas(raw, annotations);
    const d = this.autoscaler.defaults;
    const settings = fixed === undefined ? scalingSettings({ spec: raw, annotations }, d) : undefined;
    const cc = spec.containerConcurrency;
    this.activator.upsert(namespace, name, {
      containerConcurrency: cc,
      timeoutSeconds: spec.timeoutSeconds,
      targetBurstCapacity: targetBurstCapacity(annotations, this.#tbc),
      capacityPerReplica: settings?.target ?? (cc > 0 ? cc : d.containerConcurrencyTarget),
      metric: settings?.metric ?? 'concurrency',
      panicWindowMs: settings ? panicWindowMs(settings) : (d.stableWindowMs * d.panicWindowPercentage) / 100,
    });
    this.#served.set(key, fn.kind);
    if (settings) {
      this.#fixed.delete(key);
      this.autoscaler.register(key, settings, { queueDepth: () => this.#queueDepth(key) });
    } else {
      this.#fixed.set(key, fixed!);
      this.autoscaler.unregister(key);
      await this.#runtime.scale(key, fixed!);
    }
  }

  remove(key: string): void {
    const { namespace, name } = splitFunctionKey(key);
    this.#served.delete(key);
    this.#fixed.delete(key);
    this.#written.delete(key);
    this.autoscaler.unregister(key);
    this.activator.remove(namespace, name);
  }

  status(key: string): StatusPatch {
    const { namespace, name } = splitFunctionKey(key);
    const fixed = this.#fixed.get(key);
    const autoscaler = fixed === undefined ? this.autoscaler.status(key) : undefined;
    return functionStatus(this.#runtime.replicas(key), {
      desired: fixed ?? autoscaler?.desired ?? 0,
      autoscaler,
      activatorInPath: this.activator.load(namespace, name)?.inPath,
    });
  }

  /** Adds a queue-depth source to a Function (summed with its others); `id` names it for removal. */
  registerQueueSource(fnKey: string, id: string, source: QueueDepthSource): void {
    let sources = this.#queues.get(fnKey);
    if (!sources) {
      sources = new Map();
      this.#queues.set(fnKey, sources);
    }
    sources.set(id, source);
  }

  unregisterQueueSource(fnKey: string, id: string): void {
    const sources = this.#queues.get(fnKey);
    sources?.delete(id);
    if (sources?.size === 0) this.#queues.delete(fnKey);
  }

  /**
   * Makes a Trigger's backlog (its consumer group's lag) a queue-depth source of the Function it delivers to. The
   * broker is looked up at each read, so a re-created broker is followed; a broker that is gone counts as empty.
   */
  trackTrigger(trigger: Resource, brokers: BrokerRegistry): void {
    const id = `trigger:${triggerKey(trigger)}`;
    for (const [fnKey, sources] of this.#queues) if (sources.has(id)) this.unregisterQueueSource(fnKey, id);
    const namespace = trigger.metadata.namespace ?? 'default';
    const spec = trigger.spec as unknown as TriggerSpec;
    const fn = functionRef(spec.subscriber as Destination | undefined, namespace);
    if (!fn) return;
    const group = triggerGroup(trigger);
    this.registerQueueSource(functionKey(fn.namespace, fn.name), id, () => {
      const broker = brokers.get(namespace, spec.broker);
      return broker ? eventLogLag(broker.log, broker.topic, group)() : Promise.resolve(0);
    });
  }

  untrackTrigger(trigger: Resource): void {
    const id = `trigger:${triggerKey(trigger)}`;
    for (const [fnKey, sources] of [...this.#queues]) if (sources.has(id)) this.unregisterQueueSource(fnKey, id);
  }

  async close(): Promise<void> {
    for (const off of this.#unsubscribe.splice(0)) off();
    await this.autoscaler.close();
    await this.activator.close();
  }

  async #queueDepth(fnKey: string): Promise<number> {
    const sources = [...(this.#queues.get(fnKey)?.values() ?? [])];
    const depths = await Promise.all(sources.map((read) => read()));
    return depths.reduce((a, b) => a + b, 0);
  }

  /**
   * The autoscaler's actuator. It returns once the change is under way, not when replicas are ready or drained:
   * the autoscaler sends no new decision for a function while a call is pending, and a scale-up from zero must
   * not wait behind a long drain of the previous scale-down.
   */
  #scale(fn: string, n: number): Promise<void> {
    this.#runtime.scale(fn, n).catch((err: unknown) => {
      this.#logger.warn({ err, function: fn, replicas: n }, 'scaling a function failed');
    });
    return Promise.resolve();
  }

  /**
   * Writes the Function's status when what `get functions` shows changed: at once for replicas, desired scale,
   * panic or readiness; at most every few seconds when only the observed value moved. Writes of one Function are
   * never concurrent (the latest state is written after the one in progress).
   */
  #statusChanged(fn: string): void {
    if (!this.#served.has(fn)) return;
    const patch = this.status(fn);
    const ready = patch.conditions?.[0];
    const scaling = patch.scaling as { reason?: string; panic?: boolean } | undefined;
    const signature = `${patch.readyReplicas}/${patch.desiredReplicas}/${patch.replicaRestarts}/${scaling?.panic}/${ready?.status}/${ready?.reason}`;
    const reason = scaling?.reason ?? '';
    let w = this.#written.get(fn);
    if (!w) {
      w = { signature: '', reason: '', at: 0, writing: false, again: false };
      this.#written.set(fn, w);
    }
    const now = Date.now();
    if (w.signature === signature && (w.reason === reason || now - w.at < VALUE_ONLY_WRITE_MS)) return;
    if (w.writing) {
      w.again = true;
      return;
    }
    w.signature = signature;
    w.reason = reason;
    w.at = now;
    w.writing = true;
    const state = w;
    void markFunctionStatus(this.#store, fn, patch, this.#logger, this.#served.get(fn)).finally(() => {
      state.writing = false;
      if (state.again) {
        state.again = false;
        state.signature = '';
        this.#statusChanged(fn);
      }
    });
  }
}

/** The autoscaler settings `up` takes as flags (the rest keep Knative's defaults). */
export function autoscalerDefaults(
  o: Pick<PlatformOptions, 'stableWindowMs' | 'panicWindowPercentage' | 'autoscalerTickMs' | 'scaleToZeroGraceMs'>,
): Partial<AutoscalerDefaults> {
  return {
    stableWindowMs: o.stableWindowMs,
    panicWindowPercentage: o.panicWindowPercentage,
    tickMs: o.autoscalerTickMs,
    scaleToZeroGraceMs: o.scaleToZeroGraceMs,
  };
}
