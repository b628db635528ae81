import { Counter, Gauge, type Registry } from 'prom-client';
import type { Decision } from './types.ts';

const GAUGES = {
  desired: ['es_autoscaler_desired_replicas', 'Replicas the autoscaler wants'],
  actual: ['es_autoscaler_actual_replicas', 'Replicas ready to serve'],
  panic: ['es_autoscaler_panic_mode', '1 while the function is in panic mode'],
  stableConcurrency: ['es_autoscaler_stable_concurrency', 'Average in-flight requests over the stable window'],
  panicConcurrency: ['es_autoscaler_panic_concurrency', 'Average in-flight requests over the panic window'],
  stableRps: ['es_autoscaler_stable_rps', 'Requests per second over the stable window'],
  panicRps: ['es_autoscaler_panic_rps', 'Requests per second over the panic window'],
  queueDepth: ['es_autoscaler_queue_depth', 'Queue depth (lag) of the function; NaN while unknown'],
  target: ['es_autoscaler_target', 'Per-replica target of the scaling metric (target x utilization)'],
} as const;

type GaugeName = keyof typeof GAUGES;

/**
 * The autoscaler's gauges, labelled by function, on `registry`. Named like services/core/metrics.ts (`es_`
 * prefix). Creating them twice on one registry reuses the first set, so two autoscalers may share a registry.
 */
export function createAutoscalerMetrics(registry: Registry) {
  const gauges = {} as Record<GaugeName, Gauge<'function'>>;
  for (const [key, [name, help]] of Object.entries(GAUGES) as [GaugeName, readonly [string, string]][]) {
    gauges[key] =
      (registry.getSingleMetric(name) as Gauge<'function'> | undefined) ??
      new Gauge({ name, help, labelNames: ['function'] as const, registers: [registry] });
  }
  const actuationsName = 'es_autoscaler_actuations_total';
  const actuations =
    (registry.getSingleMetric(actuationsName) as Counter<'function' | 'outcome'> | undefined) ??
    new Counter({
      name: actuationsName,
      help: 'Scale requests sent to the runtime, by outcome (ok|error)',
      labelNames: ['function', 'outcome'] as const,
      registers: [registry],
    });

  return {
    observe(fn: string, d: Decision, ready: number): void {
      const labels = { function: fn };
      gauges.desired.set(labels, d.desired);
      gauges.actual.set(labels, ready);
      gauges.panic.set(labels, d.panic ? 1 : 0);
      gauges.stableConcurrency.set(labels, d.averages.stableConcurrency);
      gauges.panicConcurrency.set(labels, d.averages.panicConcurrency);
      gauges.stableRps.set(labels, d.averages.stableRps);
      gauges.panicRps.set(labels, d.averages.panicRps);
      gauges.target.set(labels, d.target);
      if (d.queueDepth !== undefined) gauges.queueDepth.set(labels, d.queueDepth);
    },
    /** The queue source failed: say so rather than keep showing a stale depth. */
    queueUnknown(fn: string): void {
      gauges.queueDepth.set({ function: fn }, Number.NaN);
    },
    actuated(fn: string, outcome: 'ok' | 'error'): void {
      actuations.inc({ function: fn, outcome });
    },
    forget(fn: string): void {
      for (const gauge of Object.values(gauges)) gauge.remove({ function: fn });
      for (const outcome of ['ok', 'error']) actuations.remove({ function: fn, outcome });
    },
  };
}

export type AutoscalerMetrics = ReturnType<typeof createAutoscalerMetrics>;
