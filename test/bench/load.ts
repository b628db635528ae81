import { spawn } from 'node:child_process';
import { join } from 'node:path';

const LOAD_CLIENT = join(import.meta.dirname, 'servers', 'load-client.ts');
const TSX = join(import.meta.dirname, '..', '..', 'node_modules', 'tsx', 'dist', 'cli.mjs');

/** The load settings of DESIGN §10: the same for a figure and its baseline. */
export const LOAD = { connections: 64, warmupSeconds: 3, measureSeconds: 10, runs: 3, bodyBytes: 1024 } as const;

export interface LoadResult {
  /** 2xx responses per second over the measured window. */
  okPerSecond: number;
  non2xx: number;
  errors: number;
}

/** A 1 KiB JSON body (what every throughput figure sends). */
export function jsonBody(bytes: number = LOAD.bodyBytes): string {
  const prefix = '{"pad":"';
  const suffix = '"}';
  return prefix + 'x'.repeat(bytes - prefix.length - suffix.length) + suffix;
}

/** Runs autocannon as its own process (load never comes from the process under test). */
export function autocannon(
  url: string,
  opts: { headers: Record<string, string>; body: string; seconds: number; connections?: number },
): Promise<LoadResult> {
  const settings = {
    url,
    method: 'POST',
    connections: opts.connections ?? LOAD.connections,
    duration: opts.seconds,
    headers: opts.headers,
    body: opts.body,
  };
  const args = [TSX, LOAD_CLIENT, JSON.stringify(settings)];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`autocannon exited ${code}: ${err}`));
      const r = JSON.parse(out);
      resolve({ okPerSecond: r['2xx'] / r.duration, non2xx: r.non2xx, errors: r.errors + r.timeouts });
    });
  });
}

/** One DESIGN §10 run: 3 s warm-up, then 10 s measured. `measure` may wrap the measured part. */
export async function rateOnce(
  url: string,
  opts: { headers: Record<string, string>; body: string },
  measure?: (run: () => Promise<LoadResult>) => Promise<number>,
): Promise<number> {
  await autocannon(url, { ...opts, seconds: LOAD.warmupSeconds });
  const run = () => autocannon(url, { ...opts, seconds: LOAD.measureSeconds });
  return measure ? measure(run) : (await run()).okPerSecond;
}

/**
 * The median of `LOAD.runs` runs of each figure, taken in turns so that a noisy neighbour slowing the machine for a
 * while weighs on a figure and its baseline alike; every other round runs in reverse order (A B, B A, A B), so that
 * going first or second in a round — measured to move a figure by up to 40 % here — favours neither.
 */
export async function interleavedMedians(figures: (() => Promise<number>)[]): Promise<number[]> {
  const samples: number[][] = figures.map(() => []);
  for (let i = 0; i < LOAD.runs; i++) {
    const order = [...figures.keys()];
    if (i % 2 === 1) order.reverse();
    for (const j of order) samples[j]!.push(await figures[j]!());
  }
  return samples.map(median);
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function ceHeaders(type = 'dev.elasticserving.bench'): Record<string, string> {
  return {
    'content-type': 'application/json',
    'ce-specversion': '1.0',
    'ce-id': '[<id>]',
    'ce-source': '/bench',
    'ce-type': type,
  };
}
