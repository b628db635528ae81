import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LocalRuntime } from './supervisor.ts';
import { ceHeaders, writeFixtureHandler } from './test-fixtures.ts';
import { transpileHandler } from './transpile.ts';

let entry: string;
let dir: string;
const runtimes: LocalRuntime[] = [];

beforeAll(async () => {
  ({ dir } = writeFixtureHandler());
  entry = (await transpileHandler({ handler: 'handler.ts', baseDir: dir, namespace: 'default', name: 'fx' })).file;
});

afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((r) => r.stopAll(2000)));
});

function runtime(opts: ConstructorParameters<typeof LocalRuntime>[0] = {}): LocalRuntime {
  const rt = new LocalRuntime({ baseDir: dir, warmPool: 1, backoffInitialMs: 50, ...opts });
  runtimes.push(rt);
  return rt;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}

function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** PIDs of the runtime's child processes that are not replicas: the pool. */
function poolPids(rt: LocalRuntime, fn: string): number[] {
  const replicas = new Set(rt.replicas(fn).map((r) => r.pid));
  const children = readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, 'utf8')
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .map(Number);
  return children.filter(
    (pid) => !replicas.has(pid) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('stem-cell'),
  );
}

async function call(port: number) {
  const res = await request(`http://127.0.0.1:${port}/p`, {
    method: 'POST',
    headers: ceHeaders(`w${Math.random()}`),
    body: '{}',
  });
  return { status: res.statusCode, body: (await res.body.json()) as { pid: number; env: string | null; path: string } };
}

describe('warm pool', () => {
  it('turns a pre-started process into a replica: faster than a spawn, same env, cwd and log file', async () => {
    const cold = runtime({ warmPool: 0 });
    await cold.deploy('default/fx', { entry, env: { GREETING: 'cold' } });
    let t0 = performance.now();
    await cold.scale('default/fx', 1);
    const spawnMs = performance.now() - t0;

    const rt = runtime();
    await rt.deploy('default/warm', { entry, env: { GREETING: 'warm' } });
    await until(() => rt.warmPool().idle === 1);
    const [stemPid] = poolPids(rt, 'default/warm');
    expect(rt.warmPool().rssBytes).toBeGreaterThan(5 * 1024 * 1024);
    t0 = performance.now();
    await rt.scale('default/warm', 1);
    const warmMs = performance.now() - t0;
    const [r] = rt.replicas('default/warm');
    expect(r).toMatchObject({ ready: true, pid: stemPid });
    const { status, body } = await call(r!.port!);
    expect([status, body.pid, body.env, body.path]).toEqual([200, stemPid, 'warm', '/p']);
    console.log(`spawn → ready: ${spawnMs.toFixed(0)} ms; warm pool process → ready: ${warmMs.toFixed(0)} ms`);
    expect(warmMs).toBeLessThan(spawnMs);

    const log = readFileSync(rt.logFile('default/warm', r!.id), 'utf8');
    expect(log).toMatch(/^--- .* replica warm-1 start \(restarts: 0\)\n/);
    expect(log).toMatch(/"msg":"function ready"/);
    // The pool is refilled with a new process.
    await until(() => rt.warmPool().idle === 1);
    expect(poolPids(rt, 'default/warm')).not.toContain(stemPid);
  });

  it('restarts a replica made from a pool process by spawning, and stops idle pool processes with the runtime', async () => {
    const rt = runtime();
    await rt.deploy('default/fx', { entry });
    await until(() => rt.warmPool().idle === 1);
    await rt.scale('default/fx', 1);
    const before = rt.replicas('default/fx')[0]!;
    process.kill(before.pid!, 'SIGKILL');
    await sleep(100);
    await rt.waitReady('default/fx', 1, 10_000);
    const after = rt.replicas('default/fx')[0]!;
    expect(after).toMatchObject({ id: before.id, restarts: 1, lastExitCode: 'SIGKILL', ready: true });
    expect((await call(after.port!)).status).toBe(200);
    await until(() => rt.warmPool().idle === 1);
    const idle = poolPids(rt, 'default/fx');
    expect(idle).toHaveLength(1);
    await rt.stopAll(2000);
    expect([after.pid, ...idle].map(alive)).toEqual([false, false]);
    expect(existsSync(join(rt.stateDir, 'logs', '.warm-pool'))).toBe(true);
  });

  it('numbers replicas after the logs already there, so a new runtime never reuses a log file', async () => {
    const first = runtime({ warmPool: 0 });
    await first.deploy('default/seq', { entry });
    await first.scale('default/seq', 2);
    await first.stopAll(2000);
    const second = runtime();
    await second.deploy('default/seq', { entry });
    await until(() => second.warmPool().idle === 1);
    await second.scale('default/seq', 1);
    expect(second.replicas('default/seq').map((r) => r.id)).toEqual(['seq-3']);
    expect(second.replicas('default/seq')[0]!.ready).toBe(true);
  });
});
