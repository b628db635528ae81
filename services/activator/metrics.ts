import { Counter, Gauge, type Registry } from 'prom-client';
import type { ReplicaBalancer } from './balancer.ts';

/** Per-request counters of one function, resolved once (label lookups per request show in profiles). */
export interface FunctionCounters {
  requests: { inc(): void };
  rejected(reason: 'queue_full' | 'timeout'): void;
}

/**
 * A request count kept as a plain number and added to its prom-client counter at scrape time: `Counter.inc`
 * hashes the labels and allocates on every call, which is measurable on the gateway's hot path.
 */
class PendingCount {
  n = 0;
  inc(): void {
    this.n++;
  }
}

interface Observed {
  balancer: ReplicaBalancer;
  inPath: boolean;
}

export interface ActivatorMetrics {
  countersFor(namespace: string, name: string): FunctionCounters;
  forget(namespace: string, name: string): void;
}

function split(key: string): { namespace: string; function: string } {
  const slash = key.indexOf('/');
  return { namespace: key.slice(0, slash), function: key.slice(slash + 1) };
}

/** `es_activator_*`: queue length, in-flight and path per function read at scrape time; counters per request. */
export function createActivatorMetrics(
  registry: Registry,
  functions: () => ReadonlyMap<string, Observed>,
): ActivatorMetrics {
  const registers = [registry];
  const labelNames = ['namespace', 'function'] as const;
  const gauge = (name: string, help: string, read: (o: Observed) => number) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers,
      collect() {
        this.reset();
        for (const [key, o] of functions()) this.set(split(key), read(o));
      },
    });
  gauge('es_activator_queue_length', 'Requests waiting in the activator for a replica slot', (o) => o.balancer.queued);
  gauge('es_activator_in_flight', 'Requests the activator has at replicas', (o) => o.balancer.inFlight);
  gauge(
    'es_activator_in_path',
    '1 while requests are buffered by the activator, 0 while they go straight to replicas (target burst capacity)',
    (o) => (o.inPath ? 1 : 0),
  );
  gauge('es_activator_ready_replicas', 'Ready replicas the activator routes to', (o) => o.balancer.backends.length);
  const pending = new Map<string, { labels: { namespace: string; function: string }; count: PendingCount }>();
  const requests = new Counter({
    name: 'es_activator_requests_total',
    help: 'Requests received by the activator',
    labelNames,
    registers,
    collect() {
      for (const { labels, count } of pending.values()) {
        if (count.n > 0) this.inc(labels, count.n);
        count.n = 0;
      }
    },
  });
  const rejected = new Counter({
    name: 'es_activator_rejected_total',
    help: 'Requests the activator refused: queue_full (503) or timeout (504 while queued)',
    labelNames: [...labelNames, 'reason'] as const,
    registers,
  });
  return {
    countersFor(namespace, name) {
      const labels = { namespace, function: name };
      const full = rejected.labels({ ...labels, reason: 'queue_full' });
      const timeout = rejected.labels({ ...labels, reason: 'timeout' });
      const key = `${namespace}/${name}`;
      let entry = pending.get(key);
      if (!entry) {
        entry = { labels, count: new PendingCount() };
        pending.set(key, entry);
      }
      return {
        requests: entry.count,
        rejected: (reason) => (reason === 'queue_full' ? full : timeout).inc(),
      };
    },
    forget(namespace, name) {
      const labels = { namespace, function: name };
      pending.delete(`${namespace}/${name}`);
      requests.remove(labels);
      rejected.remove({ ...labels, reason: 'queue_full' });
      rejected.remove({ ...labels, reason: 'timeout' });
    },
  };
}
