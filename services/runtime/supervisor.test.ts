import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
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
  const rt = new LocalRuntime({ baseDir: dir, probeIntervalMs: 200, ...opts });
  runtimes.push(rt);
  return rt;
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

async function call(port: number, data: unknown) {
  const res = await request(`http://127.0.0.1:${port}/`, {
    method: 'POST',
    headers: ceHeaders(`r${Math.random()}`),
    body: JSON.stringify(data),
  });
  return { status: res.statusCode, body: (await res.body.json()) as { pid: number; env: string | null } };
}

describe('LocalRuntime', () => {
  it('scales up (each replica ready only after /healthz), passes env, logs to a file, and scales down', async () => {
    const rt = runtime();
    const changes: string[] = [];
    rt.onChange((fn) => changes.push(fn));
    await rt.deploy('default/fx', { entry, env: { GREETING: 'from-spec' } });
    const t0 = performance.now();
    await rt.scale('default/fx', 2);
    const coldMs = performance.now() - t0;
    const reps = rt.replicas('default/fx');
    expect(reps).toHaveLength(2);
    expect(reps.every((r) => r.ready && r.state === 'ready' && r.port && r.pid)).toBe(true);
    expect(new Set(reps.map((r) => r.port)).size).toBe(2);
    expect(changes).toContain('default/fx');
    for (const r of reps) {
      const health = await request(`http://127.0.0.1:${r.port}/healthz`);
      expect(health.statusCode).toBe(200);
      await health.body.dump();
      const { status, body } = await call(r.port!, {});
      expect([status, body.pid, body.env]).toEqual([200, r.pid, 'from-spec']);
    }
    const rss = reps.map(
      (r) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${r.pid}/status`, 'utf8'))![1]) / 1024,
    );
    console.log(
      `cold start of 2 replicas (spawn → ready): ${coldMs.toFixed(0)} ms; replica RSS: ${rss.map((m) => m.toFixed(1)).join(', ')} MB`,
    );
    const log = rt.logFile('default/fx', reps[0]!.id);
    expect(log).toBe(join(dir, '.elastic-serving/logs/default/fx', `${reps[0]!.id}.log`));
    expect(readFileSync(log, 'utf8')).toMatch(/"msg":"function ready"/);

    await rt.scale('default/fx', 1);
    const after = rt.replicas('default/fx');
    expect(after).toHaveLength(1);
    const gone = reps.find((r) => r.id !== after[0]!.id)!;
    expect(alive(gone.pid)).toBe(false);
    expect(alive(after[0]!.pid)).toBe(true);
  });

  it('restarts a crashing replica with exponential backoff and reports restarts, exit code and error', async () => {
    const rt = runtime({ backoffInitialMs: 150 });
    const crashFile = join(dir, `crash-${Date.now()}`);
    await rt.deploy('default/crashy', { entry, env: { CRASH_FILE: crashFile, CRASH_TIMES: '2' } });
    const t0 = Date.now();
    await rt.scale('default/crashy', 1);
    expect(rt.replicas('default/crashy')[0]!.state).toBe('backoff');
    await rt.waitReady('default/crashy', 1, 10_000);
    const elapsed = Date.now() - t0;
    const [r] = rt.replicas('default/crashy');
    expect(r).toMatchObject({ ready: true, restarts: 2, lastExitCode: 3 });
    expect(r!.lastError).toMatch(/exited with code 3: boom: crashing on purpose, start 2/);
    // backoff 150 ms then 300 ms before the third start
    expect(elapsed).toBeGreaterThanOrEqual(450);
    expect(readFileSync(crashFile, 'utf8')).toBe('3');
    expect(readFileSync(rt.logFile('default/crashy', r!.id), 'utf8').match(/boom/g)).toHaveLength(2);
  });

  it('also restarts a replica that dies after being ready', async () => {
    const rt = runtime({ backoffInitialMs: 50 });
    await rt.deploy('default/fx', { entry });
    await rt.scale('default/fx', 1);
    const before = rt.replicas('default/fx')[0]!;
    process.kill(before.pid!, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 100));
    await rt.waitReady('default/fx', 1, 10_000);
    const after = rt.replicas('default/fx')[0]!;
    expect(after).toMatchObject({ id: before.id, restarts: 1, lastExitCode: 'SIGKILL', ready: true });
    expect(after.pid).not.toBe(before.pid);
  });

  it('drains on scale-down: an in-flight slow request finishes, the process exits 0', async () => {
    const rt = runtime();
    await rt.deploy('default/fx', { entry });
    await rt.scale('default/fx', 1);
    const [r] = rt.replicas('default/fx');
    const slow = call(r!.port!, { ms: 800 });
    await new Promise((res) => setTimeout(res, 100));
    const t0 = Date.now();
    const notReady = new Promise<void>((res) => rt.events.once('change', () => res()));
    const stopping = rt.scale('default/fx', 0);
    await notReady;
    expect(rt.replicas('default/fx')[0]).toMatchObject({ ready: false, state: 'stopping' });
    const { status, body } = await slow;
    expect([status, body.pid]).toEqual([200, r!.pid]);
    await stopping;
    expect(Date.now() - t0).toBeGreaterThanOrEqual(500);
    expect(rt.replicas('default/fx')).toHaveLength(0);
    expect(alive(r!.pid)).toBe(false);
    const log = readFileSync(rt.logFile('default/fx', r!.id), 'utf8');
    expect(log).toMatch(/"why":"SIGTERM","inFlight":1/);
    expect(log).toMatch(/exited with code 0 \(stopped\)/);
  });

  it('kills a replica that does not drain within the grace period', async () => {
    const rt = runtime({ stopGraceMs: 300 });
    await rt.deploy('default/fx', { entry });
    await rt.scale('default/fx', 1);
    const [r] = rt.replicas('default/fx');
    const slow = call(r!.port!, { ms: 5000 }).catch((e: unknown) => e);
    await new Promise((res) => setTimeout(res, 100));
    const t0 = Date.now();
    await rt.scale('default/fx', 0);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(alive(r!.pid)).toBe(false);
    expect(await slow).toBeInstanceOf(Error);
  });

  it('rolls a changed deployment: new replicas start before old ones stop', async () => {
    const rt = runtime();
    await rt.deploy('default/fx', { entry, env: { GREETING: 'v1' } });
    await rt.scale('default/fx', 1);
    const v1 = rt.replicas('default/fx')[0]!;
    await rt.deploy('default/fx', { entry, env: { GREETING: 'v2' } });
    await rt.waitReady('default/fx', 1, 10_000);
    await new Promise((r) => setTimeout(r, 200));
    const reps = rt.replicas('default/fx');
    expect(reps).toHaveLength(1);
    expect(reps[0]!.generation).toBe(2);
    expect((await call(reps[0]!.port!, {})).body.env).toBe('v2');
    expect(alive(v1.pid)).toBe(false);
  });

  it('stopAll stops everything and no replica outlives it', async () => {
    const rt = runtime();
    await rt.deploy('default/a', { entry });
    await rt.deploy('default/b', { entry });
    await Promise.all([rt.scale('default/a', 1), rt.scale('default/b', 2)]);
    const pids = [...rt.replicas('default/a'), ...rt.replicas('default/b')].map((r) => r.pid);
    expect(pids).toHaveLength(3);
    await rt.stopAll(2000);
    expect(pids.map(alive)).toEqual([false, false, false]);
    expect(existsSync(join(dir, '.elastic-serving/logs/default/b'))).toBe(true);
  });

  it('replicas do not outlive a supervisor that is killed outright', async () => {
    const script = join(dir, 'parent.mts');
    writeFileSync(
      script,
      `import { LocalRuntime } from ${JSON.stringify(join(import.meta.dirname, 'supervisor.ts'))};
const rt = new LocalRuntime({ baseDir: ${JSON.stringify(dir)} });
await rt.deploy('default/orphan', { entry: ${JSON.stringify(entry)} });
await rt.scale('default/orphan', 1);
console.log(JSON.stringify({ pid: rt.replicas('default/orphan')[0].pid }));
setInterval(() => {}, 1000);
`,
    );
    const parent = spawn(process.execPath, ['--import', 'tsx', script], {
      cwd: join(import.meta.dirname, '../..'),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const [line] = (await once(parent.stdout!, 'data')) as [Buffer];
    const { pid } = JSON.parse(line.toString()) as { pid: number };
    expect(alive(pid)).toBe(true);
    parent.kill('SIGKILL');
    await once(parent, 'exit');
    const t0 = Date.now();
    while (alive(pid) && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 50));
    expect(alive(pid)).toBe(false);
  });
});
