import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Every metric the platform exports, created once per registry so an embedded platform and its tests can have
 * their own. Names follow Prometheus conventions with the `es_` prefix.
 */
export function createMetrics(registry = new Registry()) {
  const registers = [registry];
  return {
    registry,
    ingressEvents: new Counter({
      name: 'es_ingress_events_total',
      help: 'Events received by the broker ingress, by outcome (accepted|rejected) and reason code',
      labelNames: ['namespace', 'broker', 'outcome', 'reason'] as const,
      registers,
    }),
    deliveries: new Counter({
      name: 'es_router_deliveries_total',
      help: 'Deliveries by trigger and outcome (delivered|dead_lettered|dropped|filtered|retrying)',
      labelNames: ['namespace', 'trigger', 'outcome'] as const,
      registers,
    }),
    deliveryLatency: new Histogram({
      name: 'es_router_delivery_duration_seconds',
      help: 'Time from arrival at the broker to a successful delivery to the subscriber',
      labelNames: ['namespace', 'trigger'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    deadLetters: new Counter({
      name: 'es_router_dead_letters_total',
      help: 'Events sent to a dead-letter sink',
      labelNames: ['namespace', 'trigger'] as const,
      registers,
    }),
    replies: new Counter({
      name: 'es_router_replies_total',
      help: 'Replies from subscribers by outcome (published|dropped_ttl|not_cloudevent)',
      labelNames: ['namespace', 'trigger', 'outcome'] as const,
      registers,
    }),
    channelConnected: new Gauge({
      name: 'es_channel_connected',
      help: 'Whether the platform is connected to the channel engine (1) or reconnecting (0)',
      labelNames: ['channel'] as const,
      registers,
    }),
    channelEvents: new Gauge({
      name: 'es_channel_events',
      help: 'Events held by the in-memory channel',
      registers,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

export function collectProcessMetrics(metrics: Metrics): void {
  collectDefaultMetrics({ register: metrics.registry, prefix: 'es_' });
}
