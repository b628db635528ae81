import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type PlatformProcess, startPlatformProcess } from '../../support/platform-process.ts';
import { ceHeaders, interleavedMedians, jsonBody, median } from '../load.ts';
import type { Suite } from '../main.ts';
import { ROOT, rssMb, runScript } from '../processes.ts';
import { type BenchResult, result } from '../report.ts';
import { e2eRate, waitForSink } from './sink.ts';

/** Cold starts measured (one more runs first, as a warm-up of the platform's own code paths). */
const COLD_STARTS = 20;
/** The warm pool `up` starts by default (`--warm-pool`). */
const DEFAULT_WARM_POOL = 2;
/** Step load: closed-loop requests in flight before and after each step, and how long each phase lasts. */
const STEP = {
  before: 1,
  beforeSeconds: 5,
  after: 50,
  afterSeconds: 6,
  /** Steps measured (the figure is their median); between them the load falls back to `before`. */
  steps: 3,
  /**
   * Long enough for the scale to come back to 1 (panic ends a stable window after its last crossing), and not a
   * multiple of the autoscaler's tick, so the steps fall at different points of its cycle.
   */
  restSeconds: 18.7,
  maxScale: 10,
} as const;
/**
 * Steady load: the scaling-load functions take 100 ms per request and aim at 7 in flight per replica (target 10 ×
 * 0.7), so 175 requests/s hold about 17.5 in flight: 2.5 replicas' worth, in the middle of the band (14, 21] that
 * needs exactly 3. Replica changes are counted over the last `measureSeconds`, after `settleSeconds` of scale-up.
 */
const STEADY = { rate: 175, settleSeconds: 20, measureSeconds: 120 } as const;

const wall = () => performance.timeOrigin + performance.now();

interface ReplicaSample {
  /** Wall time of the scrape's answer (epoch ms). */
  at: number;
  /** `es_autoscaler_desired_replicas`. */
  desired: number;
  /** Replicas in state ready (`es_runtime_replicas`, read at scrape time). */
  ready: number;
  /** Replica processes in any state (starting and stopping included). */
  processes: number;
  panic: boolean;
}

async function scrape(platform: PlatformProcess): Promise<string> {
  const res = await fetch(`${platform.urls.control}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return res.text();
}

/** Sum of the samples of `name` whose labels include `labels` (Prometheus text format). */
function gauge(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== '{' && line[name.length] !== ' ')) continue;
    const open = line.indexOf('{');
    const close = line.lastIndexOf('}');
    const have = new Map<string, string>();
    if (open !== -1) for (const m of line.slice(open, close).matchAll(/(\w+)="([^"]*)"/g)) have.set(m[1]!, m[2]!);
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) sum += Number(line.slice(line.lastIndexOf(' ')));
  }
  return sum;
}

function replicaSample(text: string, namespace: string, name: string): ReplicaSample {
  const fn = { namespace, function: name };
  return {
    at: wall(),
    desired: gauge(text, 'es_autoscaler_desired_replicas', { function: `${namespace}/${name}` }),
    ready: gauge(text, 'es_runtime_replicas', { ...fn, state: 'ready' }),
    processes: gauge(text, 'es_runtime_replicas', fn),
    panic: gauge(text, 'es_autoscaler_panic_mode', { function: `${namespace}/${name}` }) > 0,
  };
}

/** Scrapes the platform's replica gauges of one function every `everyMs` until `stop()`, which returns them all. */
function traceReplicas(platform: PlatformProcess, name: string, everyMs: number) {
  const samples: ReplicaSample[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const started = performance.now();
      samples.push(replicaSample(await scrape(platform), 'bench', name));
      await sleep(Math.max(0, everyMs - (performance.now() - started)));
    }
  })();
  return {
    async stop(): Promise<ReplicaSample[]> {
      running = false;
      await loop;
      return samples;
    },
  };
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

/** The Function's status as `get function -o json` shows it. */
async function functionStatus(platform: PlatformProcess, name: string): Promise<Record<string, unknown>> {
  const url = `${platform.urls.control}/apis/serving.elastic-serving.dev/v1/namespaces/bench/functions/${name}`;
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`GET function ${name} answered ${res.status}`);
  return ((await res.json()) as { status?: Record<string, unknown> }).status ?? {};
}

/** At zero: nothing desired, no replica process left (stopping ones included), and the warm pool full again. */
function atZero(platform: PlatformProcess, name: string): Promise<void> {
  return waitFor(`${name} to be back at 0 replicas`, async () => {
    const s = await functionStatus(platform, name);
    if (s.readyReplicas !== 0 || s.desiredReplicas !== 0) return false;
    const text = await scrape(platform);
    const replicas = replicaSample(text, 'bench', name);
    return replicas.processes === 0 && gauge(text, 'es_runtime_warm_pool_processes') >= DEFAULT_WARM_POOL;
  });
}

/** The physical floor of a cold start: ms from spawning bare `node` to its first HTTP answer. */
async function nodeSpawnFloor(): Promise<number> {
  const started = performance.now();
  const child = spawn(process.execPath, [join(ROOT, 'test/bench/servers/node-spawn-floor.mjs')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise((r) => child.once('exit', r));
  try {
    const port = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
        if (out.includes('\n')) resolve(out.trim());
      });
      child.once('exit', (code) => reject(new Error(`node-spawn-floor exited ${code}`)));
    });
    const res = await fetch(`http://127.0.0.1:${port}/`);
    await res.text();
    return performance.now() - started;
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
}

/** The cold-start function POSTs `{id, started, pid}` here from its handler. */
async function startReceiver() {
  const waiting = new Map<string, (r: { started: number; pid: number }) => void>();
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      res.end();
      const r = JSON.parse(body) as { id: string; started: number; pid: number };
      waiting.get(r.id)?.(r);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    next(id: string, timeoutMs = 30_000): Promise<{ started: number; pid: number }> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no handler start reported for ${id}`)), timeoutMs);
        waiting.set(id, (r) => {
          clearTimeout(timer);
          waiting.delete(id);
          resolve(r);
        });
      });
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** One cold start: ms from the event's POST to the broker ingress to the handler starting. */
async function coldStart(platform: PlatformProcess, receiver: Awaited<ReturnType<typeof startReceiver>>, i: number) {
  const id = `cold-${i}-${Date.now()}`;
  const reported = receiver.next(id);
  const sent = wall();
  const res = await fetch(`${platform.urls.ingress}/bench/cold`, {
    method: 'POST',
    headers: { ...ceHeaders('dev.elasticserving.bench.coldstart'), 'ce-id': id, 'ce-source': '/bench/scaling' },
    body: JSON.stringify({ reportTo: receiver.url }),
  });
  if (res.status !== 202) throw new Error(`ingress answered ${res.status}: ${await res.text()}`);
  const { started, pid } = await reported;
  return { ms: started - sent, pid };
}

async function coldStartFigures(log: (msg: string) => void): Promise<BenchResult[]> {
  log(`cold starts: ${COLD_STARTS} events at ingress to a function at zero, each beside a bare node spawn`);
  const receiver = await startReceiver();
  const platform = await startPlatformProcess([
    ...['--demo-dir', 'test/bench/fixtures/scaling-cold', '--log-level', 'warn'],
    ...['--stable-window-ms', '1000', '--scale-to-zero-grace-ms', '0', '--autoscaler-tick-ms', '500'],
  ]);
  try {
    const floors: number[] = [];
    const colds: number[] = [];
    const pids = new Set<number>();
    let warmup = Number.NaN;
    for (let i = 0; i <= COLD_STARTS; i++) {
      await atZero(platform, 'cold');
      floors.push(await nodeSpawnFloor());
      await sleep(300);
      const { ms, pid } = await coldStart(platform, receiver, i);
      pids.add(pid);
      if (i === 0) warmup = ms;
      else colds.push(ms);
    }
    await atZero(platform, 'cold');
    const text = await scrape(platform);
    const poolMb = gauge(text, 'es_runtime_warm_pool_rss_bytes') / 1024 / 1024;
    const poolN = gauge(text, 'es_runtime_warm_pool_processes');
    const mainMb = rssMb(platform.child.pid!);
    const floor = { name: 'node_spawn_floor_ms', value: median(floors) };
    const fmt = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(' ');
    const coldNote = `${colds.length} cold starts in ${pids.size - 1} distinct replica processes (warm-up first: ${warmup.toFixed(0)} ms); all: ${fmt(colds)}`;
    return [
      result('node_spawn_floor_ms', floor.value, 'ms', undefined, {
        note: `bare node spawn to first HTTP answer, median of ${floors.length}; max ${Math.max(...floors).toFixed(0)} ms; all: ${fmt(floors)}`,
      }),
      result('cold_start_p50_ms', median(colds), 'ms', floor, { target: '<= 250 ms', note: coldNote }),
      result('cold_start_max_ms', Math.max(...colds), 'ms', floor, { target: '<= 500 ms' }),
      result(
        'warm_pool_rss_mb',
        poolMb,
        'MB',
        { name: 'platform_main_rss_mb', value: mainMb },
        {
          note: `${poolN} idle pool processes (default --warm-pool ${DEFAULT_WARM_POOL}), read at zero after the cold starts`,
        },
      ),
    ];
  } finally {
    await platform.stop();
    await receiver.close();
  }
}

/**
 * One step: ms from it until the most replicas the autoscaler wanted during it were all ready, and the path there
 * (each new desired count, and each time the ready count caught up, with the ms since the step).
 */
function stepToReady(samples: ReplicaSample[], stepAt: number, untilAt: number) {
  const during = samples.filter((s) => s.at >= stepAt && s.at <= untilAt);
  const before = samples.filter((s) => s.at < stepAt).at(-1);
  const wanted = Math.max(...during.map((s) => s.desired));
  const readyAt = during.find((s) => s.ready >= wanted)?.at;
  const path: string[] = [];
  let last = before ?? { desired: 0, ready: 0 };
  for (const s of during) {
    if (s.desired !== last.desired) path.push(`desired ${s.desired} at +${(s.at - stepAt).toFixed(0)}`);
    // Only when the ready count catches up with what is wanted, so a plateau shows without every replica.
    if (s.ready !== last.ready && s.ready >= s.desired) path.push(`ready ${s.ready} at +${(s.at - stepAt).toFixed(0)}`);
    last = s;
    if (s.at === readyAt) break;
  }
  return { ms: readyAt === undefined ? Number.NaN : readyAt - stepAt, wanted, path };
}

/** Changes of the desired or the ready count between consecutive samples. */
function changes(samples: ReplicaSample[]): { count: number; desired: Set<number>; ready: Set<number> } {
  let count = 0;
  for (let i = 1; i < samples.length; i++) {
    if (samples[i]!.desired !== samples[i - 1]!.desired) count++;
    if (samples[i]!.ready !== samples[i - 1]!.ready) count++;
  }
  return { count, desired: new Set(samples.map((s) => s.desired)), ready: new Set(samples.map((s) => s.ready)) };
}

async function stepFigure(platform: PlatformProcess, log: (msg: string) => void): Promise<BenchResult> {
  await waitFor(
    'step to be at 1 ready replica',
    async () => (await functionStatus(platform, 'step')).readyReplicas === 1,
  );
  log(
    `step load ×${STEP.steps}: ${STEP.before} request in flight (${STEP.beforeSeconds} s, then ${STEP.restSeconds} s between steps), ${STEP.after} for ${STEP.afterSeconds} s`,
  );
  const trace = traceReplicas(platform, 'step', 100);
  const out = JSON.parse(
    await runScript('test/bench/servers/step-load.ts', [
      `${platform.urls.gateway}/bench/step`,
      ...[STEP.before, STEP.beforeSeconds, STEP.after, STEP.afterSeconds, STEP.steps, STEP.restSeconds].map(String),
    ]),
  ) as { steps: { at: number; ok: number; failed: number }[]; low: { ok: number; failed: number } };
  const samples = await trace.stop();
  const steps = out.steps.map((step) => stepToReady(samples, step.at, step.at + STEP.afterSeconds * 1000));
  const each = steps.map((s) => `${s.ms.toFixed(0)} ms (${s.path.join(', ')})`);
  const failed = out.steps.reduce((n, s) => n + s.failed, out.low.failed);
  const ok = out.steps.reduce((n, s) => n + s.ok, out.low.ok);
  return result('step_to_ready_ms', median(steps.map((s) => s.ms)), 'ms', undefined, {
    target: `<= 3000 ms, never above max-scale ${STEP.maxScale}`,
    note: `median of ${steps.length} steps: ${each.join('; ')}; max desired ${Math.max(...samples.map((s) => s.desired))}, max replica processes ${Math.max(...samples.map((s) => s.processes))} (max-scale ${STEP.maxScale}); ${ok} ok, ${failed} failed; sampled every 100 ms`,
  });
}

async function steadyFigure(platform: PlatformProcess, log: (msg: string) => void): Promise<BenchResult> {
  const { rate, settleSeconds, measureSeconds } = STEADY;
  log(`steady load: ${rate} requests/s open loop (≈ 2.5 replicas' worth) for ${settleSeconds} + ${measureSeconds} s`);
  const trace = traceReplicas(platform, 'steady', 250);
  const sent = JSON.parse(
    await runScript('test/bench/servers/open-loop-sender.ts', [
      `${platform.urls.gateway}/bench/steady`,
      String(rate),
      String(settleSeconds + measureSeconds),
    ]),
  ) as { ok: number; failed: number; responseP50: number; responseP99: number };
  const from = wall() - measureSeconds * 1000;
  const samples = await trace.stop();
  const measured = samples.filter((x) => x.at >= from);
  const settling = samples.filter((x) => x.at < from);
  const c = changes(measured);
  const list = (xs: Set<number>) => [...xs].join('/');
  return result('steady_replica_changes', c.count, 'changes', undefined, {
    target: '0',
    note: `changes of desired or ready over the last ${measureSeconds} s (${measured.length} samples): desired ${list(c.desired)}, ready ${list(c.ready)}; while settling ${changes(settling).count} changes, desired up to ${Math.max(...settling.map((x) => x.desired))}; ${sent.ok} ok, ${sent.failed} failed, response p50 ${sent.responseP50?.toFixed(0)} ms, p99 ${sent.responseP99?.toFixed(0)} ms`,
  });
}

/** Step and steady load on the gateway, one platform (stable window 10 s, panic window 1 s). */
async function loadFigures(log: (msg: string) => void): Promise<BenchResult[]> {
  const platform = await startPlatformProcess([
    ...['--demo-dir', 'test/bench/fixtures/scaling-load', '--log-level', 'warn'],
    ...['--stable-window-ms', '10000', '--panic-window-percentage', '10'],
  ]);
  try {
    return [await stepFigure(platform, log), await steadyFigure(platform, log)];
  } finally {
    await platform.stop();
  }
}

async function pathFigures(log: (msg: string) => void): Promise<BenchResult[]> {
  const on = (tbc: string) =>
    startPlatformProcess(['--demo-dir', 'test/bench/fixtures', '--log-level', 'warn', '--target-burst-capacity', tbc]);
  const direct = await on('0');
  const activator = await on('-1');
  try {
    await waitForSink(direct.urls.gateway);
    await waitForSink(activator.urls.gateway);
    const inPath = async (p: PlatformProcess) =>
      ((await functionStatus(p, 'bench-sink')).scaling as { activatorInPath?: boolean } | undefined)?.activatorInPath;
    const seen = `activatorInPath: direct ${await inPath(direct)}, activator ${await inPath(activator)}`;
    log(`trigger path, 1 fixed replica, in turns ×3: activator out of the path (tbc 0) and in it (tbc -1); ${seen}`);
    const load = { headers: ceHeaders(), body: jsonBody() };
    const runs: Record<'direct' | 'activator', number[]> = { direct: [], activator: [] };
    const measure = (p: PlatformProcess, into: number[]) => async () => {
      const eps = await e2eRate(p, load);
      into.push(eps);
      return eps;
    };
    const [directEps, activatorEps] = await interleavedMedians([
      measure(direct, runs.direct),
      measure(activator, runs.activator),
    ]);
    const each = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(' ');
    return [
      result('direct_replica_eps', directEps!, 'events/s', undefined, {
        note: `broker → trigger → replica, --target-burst-capacity 0, counted at bench-sink (1 replica); ${seen}; runs ${each(runs.direct)}`,
      }),
      result(
        'activator_eps',
        activatorEps!,
        'events/s',
        { name: 'direct_replica_eps', value: directEps! },
        {
          target: '>= 0.8 x direct_replica_eps',
          note: `--target-burst-capacity -1: activator always in the path; runs ${each(runs.activator)}`,
        },
      ),
    ];
  } finally {
    await direct.stop();
    await activator.stop();
  }
}

export const scalingSuite: Suite = {
  name: 'scaling',
  description:
    'scale from zero: cold starts vs bare node spawn, step and steady load, activator vs direct path, warm pool RSS',
  async run(log) {
    const results: BenchResult[] = [];
    for (const part of [coldStartFigures, loadFigures, pathFigures]) {
      const started = Date.now();
      results.push(...(await part(log)));
      log(`${part.name} took ${Math.round((Date.now() - started) / 1000)} s`);
    }
    return results;
  },
};
