import { Gauge, type Registry } from 'prom-client';
import type { LocalRuntime } from './supervisor.ts';

/** `es_runtime_*`: the warm pool's size and memory, and replicas per function and state, read at scrape time. */
export function registerRuntimeMetrics(
  registry: Registry,
  runtime: Pick<LocalRuntime, 'warmPool' | 'functions' | 'replicas'>,
): void {
  const registers = [registry];
  new Gauge({
    name: 'es_runtime_warm_pool_processes',
    help: 'Pre-started generic replica processes ready to load a function',
    registers,
    collect() {
      this.set(runtime.warmPool().idle);
    },
  });
  new Gauge({
    name: 'es_runtime_warm_pool_rss_bytes',
    help: 'Resident memory of the warm pool processes (beside the platform process and the replicas)',
    registers,
    collect() {
      this.set(runtime.warmPool().rssBytes);
    },
  });
  new Gauge({
    name: 'es_runtime_replicas',
    help: 'Function replicas by state (starting, ready, not-ready, backoff, stopping)',
    labelNames: ['namespace', 'function', 'state'] as const,
    registers,
    collect() {
      this.reset();
      for (const fn of runtime.functions()) {
        const slash = fn.indexOf('/');
        const counts = new Map<string, number>();
        for (const r of runtime.replicas(fn)) counts.set(r.state, (counts.get(r.state) ?? 0) + 1);
        for (const [state, n] of counts)
          this.set({ namespace: fn.slice(0, slash), function: fn.slice(slash + 1), state }, n);
      }
    },
  });
}
