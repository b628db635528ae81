// `elastic-serving logs` end to end: replica stdout/stderr captured by the local runtime, read through the control
// API's log endpoint by the CLI in its own process, as a user would. Needs the platform to pass its runtime's log
// directory to the control API as `logSource` (services/platform/platform.ts).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PlatformProcess, startPlatformProcess } from '../support/platform-process.ts';
import { apply, post, uniqueNames, waitCondition } from './e2e-helpers.ts';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'elastic-serving.mjs');
let platform: PlatformProcess;
let handlerDir: string;
let handler: string;
const unique = uniqueNames('logs');

beforeAll(async () => {
  handlerDir = mkdtempSync(join(tmpdir(), 'es-e2e-logs-'));
  handler = join(handlerDir, 'chatty.ts');
  writeFileSync(
    handler,
    `import { defineFunction } from 'elastic-serving/sdk';
console.log('booting ' + process.env.ES_FUNCTION_NAME);
console.error('a warning on stderr');
export default defineFunction(async (event) => {
  console.log('handled ' + event.id);
});
`,
  );
  platform = await startPlatformProcess(['--no-demo', '--log-level', 'warn']);
}, 60_000);
afterAll(async () => {
  await platform?.stop();
  rmSync(handlerDir, { recursive: true, force: true });
});

function fn(name: string, replicas: number) {
  return `apiVersion: serving.elastic-serving.dev/v1
kind: Function
metadata: { name: ${name}, namespace: default }
spec:
  handler: ${handler}
  replicas: ${replicas}
`;
}

interface Follower {
  child: ChildProcess;
  stdout(): string;
  until(accept: (out: string) => boolean, timeoutMs?: number): Promise<string>;
  exited: Promise<number | null>;
}

/** `logs -f` in its own process (platform.cli waits for the exit, which a follow never does by itself). */
function follow(args: string[]): Follower {
  const child = spawn(process.execPath, [BIN, 'logs', '-f', ...args], {
    env: { ...process.env, ES_SERVER: platform.urls.control },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const until = async (accept: (o: string) => boolean, timeoutMs = 15_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!accept(out)) {
      if (Date.now() > deadline || child.exitCode !== null) {
        throw new Error(`logs -f: not seen in time (exit ${child.exitCode})\nstdout:\n${out}\nstderr:\n${err}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return out;
  };
  return { child, stdout: () => out, until, exited };
}

describe('elastic-serving logs', () => {
  it("prints every replica's stdout and stderr, prefixed by replica, and one replica alone", async () => {
    const f = unique('two');
    await apply(platform, fn(f, 2));
    await waitCondition(platform, 'function', f, 'True', 20_000);
    const all = await platform.cli(['logs', `function/${f}`]);
    expect(all.code, all.stderr).toBe(0);
    for (const replica of [`${f}-1`, `${f}-2`]) {
      expect(all.stdout).toMatch(new RegExp(`^\\[${replica}\\] --- \\S+ replica ${replica} start`, 'm'));
      expect(all.stdout).toContain(`[${replica}] booting ${f}\n`);
      expect(all.stdout).toContain(`[${replica}] a warning on stderr\n`);
    }
    const one = await platform.cli(['logs', `fn/${f}`, '--replica', `${f}-2`, '--tail', '2']);
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).not.toContain(`${f}-1`);
    expect(one.stdout).not.toMatch(/^\[/m);
    expect(one.stdout.trimEnd().split('\n')).toHaveLength(2);
  });

  it('fails with the reason for a function that does not exist', async () => {
    const r = await platform.cli(['logs', 'function/no-such-fn']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error: Function default\/no-such-fn not found/);
  });

  it('follows: lines written while an event is handled appear; Ctrl+C ends it with exit 0', async () => {
    const f = unique('one');
    await apply(platform, fn(f, 1));
    await waitCondition(platform, 'function', f, 'True', 20_000);
    const follower = follow([`function/${f}`, '--tail', '1']);
    try {
      await follower.until((o) => o.split('\n').length >= 2);
      const res = await post(`${platform.urls.gateway}/default/${f}`, 'logs-e2e-1', 'e2e.logs');
      expect(res.status).toBeLessThan(300);
      await follower.until((o) => o.includes('handled logs-e2e-1\n'));
      follower.child.kill('SIGINT');
      expect(await follower.exited).toBe(0);
    } finally {
      follower.child.kill('SIGKILL');
    }
  });

  // Last: it stops the platform.
  it('follows until the platform stops, showing the replica stop, then exits 0', async () => {
    const f = unique('stop');
    await apply(platform, fn(f, 1));
    await waitCondition(platform, 'function', f, 'True', 20_000);
    const follower = follow([f]);
    try {
      await follower.until((o) => o.includes(`booting ${f}\n`));
      await platform.stop();
      expect(await follower.exited).toBe(0);
      expect(follower.stdout()).toMatch(new RegExp(`--- \\S+ replica ${f}-1 exited with .*\\(stopped\\)\\n$`));
    } finally {
      follower.child.kill('SIGKILL');
    }
  });
});
