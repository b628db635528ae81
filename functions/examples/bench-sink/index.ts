/**
 * The subscriber of the end-to-end benchmarks: counts every event and, when an event carries `benchsent` (the
 * epoch ms at which the open-loop sender scheduled it), records the latency from then to now. An event of type
 * `dev.elasticserving.bench.query` is answered with the figures; `...bench.reset` clears them.
 */
import { defineFunction } from 'elastic-serving/sdk';

let count = 0;
let latencies: number[] = [];
const now = () => performance.timeOrigin + performance.now();

function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export default defineFunction(async (event) => {
  if (event.type === 'dev.elasticserving.bench.query') {
    const sorted = [...latencies].sort((a, b) => a - b);
    return {
      count,
      samples: sorted.length,
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      max: sorted.at(-1) ?? null,
    };
  }
  if (event.type === 'dev.elasticserving.bench.reset') {
    count = 0;
    latencies = [];
    return { reset: true };
  }
  count++;
  const sent = Number(event.attributes.benchsent);
  if (Number.isFinite(sent)) latencies.push(now() - sent);
});
