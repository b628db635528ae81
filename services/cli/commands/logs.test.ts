// `elastic-serving logs` in-process against a real control API (buildControlApi on a free port) whose log source
// reads replica log files from a temp directory.
import { appendFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildControlApi } from '../../controller/api.ts';
import { directoryLogSource } from '../../controller/log-source.ts';
import { MemoryResourceStore } from '../../controller/memory-store.ts';
import { runCli } from '../main.ts';
import { type CapturedIo, captureIo } from '../test-io.ts';
import { parseSince } from './logs.ts';

let app: FastifyInstance;
let store: MemoryResourceStore;
let dir: string;
let server: string;

async function addFunction(name: string, namespace = 'default') {
  await store.apply({
    apiVersion: 'serving.elastic-serving.dev/v1',
    kind: 'Function',
    metadata: { name, namespace },
    spec: { handler: 'functions/examples/echo/index.ts' },
  });
  await mkdir(join(dir, namespace, name), { recursive: true });
}

const logFile = (name: string, replica: string, namespace = 'default') => join(dir, namespace, name, `${replica}.log`);

async function start(token?: string) {
  app = buildControlApi({
    store,
    logPollIntervalMs: 20,
    logSource: directoryLogSource((ns, name) => join(dir, ns, name)),
    ...(token ? { token } : {}),
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  server = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

async function cli(args: string[], env: Record<string, string> = {}) {
  const io = captureIo({ env: { ES_SERVER: server, ...env } });
  const code = await runCli(args, io);
  return { code, out: io.stdoutText, err: io.stderrText };
}

async function waitFor(io: CapturedIo, accept: (out: string) => boolean, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (!accept(io.stdoutText)) {
    if (Date.now() > deadline)
      throw new Error(`timed out; stdout so far:\n${io.stdoutText}\nstderr:\n${io.stderrText}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

beforeEach(async () => {
  store = new MemoryResourceStore();
  dir = await mkdtemp(join(tmpdir(), 'es-cli-logs-'));
});
afterEach(async () => {
  await app?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('elastic-serving logs', () => {
  beforeEach(async () => {
    await addFunction('echo');
    await writeFile(logFile('echo', 'echo-1'), 'one a\none b\n');
    await new Promise((r) => setTimeout(r, 20));
    await writeFile(logFile('echo', 'echo-2'), 'two a\ntwo b\n');
    await start();
  });

  it('prints every replica, prefixed, and accepts function/NAME, fn/NAME, NAME and "function NAME"', async () => {
    const all = '[echo-1] one a\n[echo-1] one b\n[echo-2] two a\n[echo-2] two b\n';
    for (const args of [['function/echo'], ['fn/echo'], ['echo'], ['function', 'echo']]) {
      expect(await cli(['logs', ...args]), args.join(' ')).toEqual({ code: 0, out: all, err: '' });
    }
  });

  it('narrows by replica, tail and since, and follows the prefix flags', async () => {
    expect((await cli(['logs', 'function/echo', '--replica', 'echo-2'])).out).toBe('two a\ntwo b\n');
    expect((await cli(['logs', 'function/echo', '--tail', '1'])).out).toBe('[echo-1] one b\n[echo-2] two b\n');
    expect((await cli(['logs', 'function/echo', '--tail', '1', '--no-prefix'])).out).toBe('one b\ntwo b\n');
    expect((await cli(['logs', 'function/echo', '--replica', 'echo-1', '--prefix', '--tail', '1'])).out).toBe(
      '[echo-1] one b\n',
    );
    expect((await cli(['logs', 'function/echo', '--since', '1h', '--tail', '1'])).out).toBe(
      '[echo-1] one b\n[echo-2] two b\n',
    );
  });

  it('reads the namespace from -n', async () => {
    await addFunction('echo', 'other');
    await writeFile(logFile('echo', 'echo-1', 'other'), 'from other\n');
    expect(await cli(['logs', 'function/echo', '-n', 'other'])).toEqual({ code: 0, out: 'from other\n', err: '' });
  });

  it('reports an unknown function, replica, kind or flag value', async () => {
    const unknown = await cli(['logs', 'function/nope']);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toBe('error: Function default/nope not found (NotFound, 404)\n');
    const replica = await cli(['logs', 'function/echo', '--replica', 'echo-7']);
    expect(replica.code).toBe(1);
    expect(replica.err).toMatch(/replica "echo-7" of Function default\/echo not found \(it has echo-1, echo-2\)/);
    const cases: [string[], RegExp][] = [
      [['logs', 'trigger/t'], /logs are kept for functions only, not triggers/],
      [['logs', 'function/'], /does not name a function/],
      [['logs', 'echo', '--tail', 'ten'], /--tail "ten" must be a number of lines/],
      [['logs', 'echo', '--since', '10x'], /--since "10x" is not a positive duration/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err, args.join(' ')).toMatch(message);
    }
  });

  it('says when the control API cannot be reached or wants a token', async () => {
    await app.close();
    await start('t0ken');
    const noToken = await cli(['logs', 'echo']);
    expect(noToken.code).toBe(1);
    expect(noToken.err).toMatch(/unauthorized \(401\).*--token/);
    expect((await cli(['logs', 'echo', '--token', 't0ken'])).out).toContain('[echo-2] two b\n');
    const url = server;
    await app.close();
    const down = await cli(['logs', 'echo'], { ES_SERVER: url });
    expect(down.code).toBe(1);
    expect(down.err).toMatch(/cannot reach the control API at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
  });

  it('has help with examples', async () => {
    const help = await cli(['logs', '--help']);
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/--follow/);
    expect(help.out).toMatch(/Examples:\n {2}\$ elastic-serving logs function\/echo\n/);
  });
});

describe('elastic-serving logs -f', () => {
  it('prints new lines and new replicas, and ends cleanly on Ctrl+C', async () => {
    await addFunction('echo');
    await start();
    let interrupt!: (signal: string) => void;
    const io = captureIo({
      env: { ES_SERVER: server },
      shutdown: new Promise<string>((r) => {
        interrupt = r;
      }),
    });
    const done = runCli(['logs', '-f', 'function/echo'], io);
    // No replica yet: the command waits.
    await new Promise((r) => setTimeout(r, 100));
    expect(io.stdoutText).toBe('');
    await writeFile(logFile('echo', 'echo-1'), 'hello\n');
    await waitFor(io, (o) => o === 'hello\n');
    await writeFile(logFile('echo', 'echo-2'), 'second\n');
    await appendFile(logFile('echo', 'echo-1'), 'again\n');
    await waitFor(io, (o) => o.includes('[echo-2] second\n') && o.includes('[echo-1] again\n'));
    interrupt('SIGINT');
    expect(await done).toBe(0);
    expect(io.stderrText).toBe('');
  });

  it('ends with exit 0 when the platform stops', async () => {
    await addFunction('echo');
    await writeFile(logFile('echo', 'echo-1'), 'a\nb\nc\n');
    await start();
    const io = captureIo({ env: { ES_SERVER: server } });
    const done = runCli(['logs', 'echo', '-f', '--tail', '1'], io);
    await waitFor(io, (o) => o === 'c\n');
    await appendFile(logFile('echo', 'echo-1'), 'stopping\n');
    await app.close();
    expect(await done).toBe(0);
    expect(io.stdoutText).toBe('c\nstopping\n');
  });
});

describe('parseSince', () => {
  it('reads Go durations into whole seconds, rounded up', () => {
    expect(parseSince('10m')).toBe(600);
    expect(parseSince('1h30m')).toBe(5400);
    expect(parseSince('1.5s')).toBe(2);
    expect(parseSince('250ms')).toBe(1);
    for (const bad of ['', '10', 'm', '0s', '-5m', '5 m', '1d']) expect(() => parseSince(bad), bad).toThrow();
  });
});
