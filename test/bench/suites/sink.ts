import { setTimeout as sleep } from 'node:timers/promises';
import type { PlatformProcess } from '../../support/platform-process.ts';
import { rateOnce } from '../load.ts';
import { runScript } from '../processes.ts';
import { stallsNote, watchStalls } from '../stall-probe.ts';

/** What the bench-sink replica (functions/examples/bench-sink) counted. */
export interface SinkFigures {
  count: number;
  samples: number;
  p50: number | null;
  p99: number | null;
  max: number | null;
}

export const OPEN_LOOP_RATE = 1000;
export const OPEN_LOOP_SECONDS = 15;

/** Asks the bench-sink replica (through the gateway) what it received, or resets it. */
export async function sink(gateway: string, what: 'query' | 'reset'): Promise<SinkFigures> {
  const res = await fetch(`${gateway}/bench/bench-sink`, {
    method: 'POST',
    headers: {
      'ce-specversion': '1.0',
      'ce-id': `${what}-${Date.now()}`,
      'ce-source': '/bench',
      'ce-type': `dev.elasticserving.bench.${what}`,
    },
  });
  if (res.status !== 200) throw new Error(`bench-sink ${what} answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as SinkFigures;
}

/** Waits until the sink's count stops growing (the channel's backlog is delivered). */
export async function drained(gateway: string): Promise<number> {
  let last = -1;
  for (;;) {
    const { count } = await sink(gateway, 'query');
    if (count === last) return count;
    last = count;
    await sleep(1000);
  }
}

export async function waitForSink(gateway: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await sink(gateway, 'reset');
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(250);
    }
  }
}

/** End-to-end events/s: posted to the bench `e2e` broker, counted at the sink over the measured window. */
export function e2eRate(platform: PlatformProcess, load: { headers: Record<string, string>; body: string }) {
  const { ingress, gateway } = platform.urls;
  return rateOnce(`${ingress}/bench/e2e`, load, async (run) => {
    await drained(gateway);
    const before = (await sink(gateway, 'query')).count;
    const started = performance.now();
    await run();
    const after = (await sink(gateway, 'query')).count;
    return (after - before) / ((performance.now() - started) / 1000);
  });
}

/** Open loop at 1,000 events/s: latency from the scheduled send to the sink, p99 and a note with the rest. */
export async function openLoopP99(platform: PlatformProcess): Promise<{ p99: number; note: string }> {
  const { ingress, gateway } = platform.urls;
  await drained(gateway);
  await sink(gateway, 'reset');
  const { value: out, stalls } = await watchStalls(() =>
    runScript('test/bench/servers/open-loop-sender.ts', [
      `${ingress}/bench/e2e`,
      String(OPEN_LOOP_RATE),
      String(OPEN_LOOP_SECONDS),
    ]),
  );
  const sent = JSON.parse(out);
  await drained(gateway);
  const f = await sink(gateway, 'query');
  return {
    p99: f.p99 ?? Number.NaN,
    note: `${f.samples} samples; p50 ${f.p50?.toFixed(2)} ms, max ${f.max?.toFixed(2)} ms; lost ${sent.ok - f.samples}; ${stallsNote(stalls)}`,
  };
}
