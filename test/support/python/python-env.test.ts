import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensurePythonEnv, PythonEnvError, pythonEnvOrSkip } from './python-env.ts';

const run = promisify(execFile);
const TSX = join(process.cwd(), 'node_modules', '.bin', 'tsx');
const HELPER = join(import.meta.dirname, 'python-env.ts');

/** Calls ensurePythonEnv from a fresh process, so only the on-disk cache can make it fast. */
async function ensureInChild(root: string, name: string, packages: string[]) {
  const code = `
    import { ensurePythonEnv } from ${JSON.stringify(HELPER)};
    const lines = [];
    const t = performance.now();
    const env = await ensurePythonEnv(${JSON.stringify(name)}, ${JSON.stringify(packages)}, {
      root: ${JSON.stringify(root)}, progress: (c) => lines.push(c) });
    console.log(JSON.stringify({ env, ms: performance.now() - t, progress: lines.join('') }));`;
  const { stdout } = await run(TSX, ['--input-type=module', '-e', code], { timeout: 120_000 });
  return JSON.parse(stdout) as { env: { python: string }; ms: number; progress: string };
}

describe('ensurePythonEnv', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'python-env-'));
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('creates a venv whose interpreter runs, then reuses it at once from another process', async () => {
    const progress: string[] = [];
    const env = await ensurePythonEnv('bare', [], { root, progress: (c) => progress.push(c) });
    expect(env.dir).toBe(join(root, 'bare'));
    const { stdout } = await run(env.python, ['-c', 'import sys; print(sys.prefix)']);
    expect(stdout.trim()).toBe(env.dir);
    expect(progress.join('')).toContain('preparing');

    const again = await ensureInChild(root, 'bare', []);
    expect(again.env.python).toBe(env.python);
    expect(again.progress).toBe('');
    expect(again.ms).toBeLessThan(200);
  }, 120_000);

  it('shares one build between concurrent calls in a process', () => {
    const a = ensurePythonEnv('bare', [], { root, progress: () => {} });
    const b = ensurePythonEnv('bare', [], { root, progress: () => {} });
    expect(a).toBe(b);
    return a;
  });

  it('rejects with the pip error when a requirement cannot be installed, and leaves no ready marker', async () => {
    const err = await ensurePythonEnv('broken', ['not a valid requirement!!'], { root, progress: () => {} }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PythonEnvError);
    expect((err as Error).message).toMatch(/pip install .* exited with 1/);
    expect((err as Error).message).toMatch(/[Ii]nvalid requirement/);
    expect(existsSync(join(root, 'broken', '.es-env.json'))).toBe(false);
  }, 120_000);

  it('rejects when the base interpreter does not exist', async () => {
    await expect(
      ensurePythonEnv('nopython', [], { root, basePython: join(root, 'no-such-python3'), progress: () => {} }),
    ).rejects.toThrow(/cannot run .*no-such-python3/);
  });

  it('rejects an environment name that is not a plain directory name', async () => {
    await expect(ensurePythonEnv('../escape', [], { root })).rejects.toThrow(/invalid environment name/);
  });

  it('pythonEnvOrSkip gives a skip reason outside CI and throws under CI=true', async () => {
    const saved = process.env.CI;
    const options = { root, basePython: join(root, 'no-such-python3'), progress: () => {} };
    try {
      process.env.CI = 'false';
      const result = await pythonEnvOrSkip('skipme', [], options);
      expect(result).toEqual({ skip: expect.stringMatching(/"skipme" is unavailable: cannot run/) });
      process.env.CI = 'true';
      await expect(pythonEnvOrSkip('skipme', [], options)).rejects.toBeInstanceOf(PythonEnvError);
    } finally {
      if (saved === undefined) delete process.env.CI;
      else process.env.CI = saved;
    }
  });
});
