/**
 * Python virtual environments for tests that need real Python tooling (tritonclient, skl2onnx, kserve). Each named
 * environment lives under `.elastic-serving/python/<name>` (gitignored), is created once with `python3 -m venv` +
 * `pip install`, and is reused instantly afterwards while its package list is unchanged.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describe, it } from 'vitest';

/** Where and how environments are made. */
export interface PythonEnvOptions {
  /**
   * Directory holding the environments.
   * @defaultValue `<repo>/.elastic-serving/python`
   */
  root?: string;
  /**
   * Base interpreter used to create the venv.
   * @defaultValue env `ES_PYTHON`, else `python3`
   */
  basePython?: string;
  /**
   * Receives pip's output while it installs (creation takes minutes for big packages; silence would look hung).
   * @defaultValue writes to process.stderr
   */
  progress?: (chunk: string) => void;
  /**
   * Longest wait for another process that is building the same environment.
   * @defaultValue 900000 (15 minutes)
   */
  lockTimeoutMs?: number;
}

/** A ready environment. */
export interface PythonEnv {
  /** Absolute path of the venv's interpreter; run scripts with it. */
  python: string;
  /** The venv directory. */
  dir: string;
}

/** Raised when the environment cannot be made (no python3, no venv module, pip failure…); `message` says why. */
export class PythonEnvError extends Error {
  override name = 'PythonEnvError';
}

const REPO_ROOT = resolve(import.meta.dirname, '..', '..', '..');
const MARKER = '.es-env.json';
const inProcess = new Map<string, Promise<PythonEnv>>();

/** Runs a command, streaming its output to `progress`, and keeps the tail of it for error messages. */
function runLogged(cmd: string, args: string[], progress: (chunk: string) => void): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PYTHONUNBUFFERED: '1' },
    });
    let tail = '';
    const onData = (data: Buffer) => {
      const text = data.toString();
      tail = (tail + text).slice(-2000);
      progress(text);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('error', (err) => reject(new PythonEnvError(`cannot run ${cmd}: ${err.message}`)));
    child.once('close', (code, signal) => {
      if (code === 0) resolvePromise();
      else reject(new PythonEnvError(`${cmd} ${args.join(' ')} exited with ${code ?? signal}:\n${tail.trim()}`));
    });
  });
}

function pid(text: string): number {
  return Number.parseInt(text, 10);
}

function alive(processId: number): boolean {
  try {
    process.kill(processId, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A lock file holding the owner's pid, so parallel test workers build each environment once; stale locks are taken over. */
async function withLock<T>(lockPath: string, timeoutMs: number, body: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const handle = await open(lockPath, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = pid(await readFile(lockPath, 'utf8').catch(() => ''));
      // An empty file is a lock being written right now; only a dead owner's lock is stale.
      if (Number.isInteger(owner) && !alive(owner)) {
        await rm(lockPath, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new PythonEnvError(`timed out waiting for ${lockPath} (held by pid ${owner})`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    return await body();
  } finally {
    await rm(lockPath, { force: true });
  }
}

async function markerMatches(dir: string, python: string, wanted: string): Promise<boolean> {
  if (!existsSync(python)) return false;
  return (await readFile(join(dir, MARKER), 'utf8').catch(() => '')) === wanted;
}

async function build(name: string, packages: readonly string[], options: PythonEnvOptions): Promise<PythonEnv> {
  const root = options.root ?? join(REPO_ROOT, '.elastic-serving', 'python');
  const dir = join(root, name);
  const python = join(dir, 'bin', 'python');
  const wanted = JSON.stringify({ packages: [...packages].sort() });
  // Fast path: no lock, no process spawned.
  if (await markerMatches(dir, python, wanted)) return { python, dir };

  const progress = options.progress ?? ((chunk: string) => process.stderr.write(chunk));
  await mkdir(root, { recursive: true });
  return withLock(`${dir}.lock`, options.lockTimeoutMs ?? 900_000, async () => {
    if (await markerMatches(dir, python, wanted)) return { python, dir };
    progress(`[python-env] preparing ${dir}: pip install ${packages.join(' ')}\n`);
    await rm(join(dir, MARKER), { force: true });
    const usable =
      existsSync(python) &&
      (await stat(python)
        .then((s) => s.isFile())
        .catch(() => false));
    if (!usable) {
      // A half-made venv (interrupted run) is cheaper to redo than to repair.
      await rm(dir, { recursive: true, force: true });
      await runLogged(options.basePython ?? process.env.ES_PYTHON ?? 'python3', ['-m', 'venv', dir], progress);
    }
    if (packages.length > 0) {
      await runLogged(python, ['-m', 'pip', 'install', '--progress-bar', 'on', ...packages], progress);
    }
    await writeFile(join(dir, MARKER), wanted);
    progress(`[python-env] ${name} ready\n`);
    return { python, dir };
  });
}

/**
 * Creates (or reuses) the venv `.elastic-serving/python/<name>` with `packages` installed (pip requirement
 * specifiers, e.g. `'tritonclient[http]'`, `'kserve==0.21.0'`). The first call can take minutes and streams pip's
 * output to stderr; later calls with the same package list return at once. Rejects with PythonEnvError.
 */
export function ensurePythonEnv(
  name: string,
  packages: readonly string[],
  options: PythonEnvOptions = {},
): Promise<PythonEnv> {
  if (!/^[\w.-]+$/.test(name)) return Promise.reject(new PythonEnvError(`invalid environment name ${name}`));
  const key = `${options.root ?? ''}\0${name}\0${JSON.stringify([...packages].sort())}`;
  let pending = inProcess.get(key);
  if (!pending) {
    pending = build(name, packages, options);
    inProcess.set(key, pending);
    pending.catch(() => inProcess.delete(key));
  }
  return pending;
}

/**
 * Like ensurePythonEnv, but a failure outside CI becomes `{ skip: reason }` (logged loudly) so a machine without
 * Python or network skips the tests; under `CI=true` the failure is thrown, as a missing engine is (DESIGN §9).
 */
export async function pythonEnvOrSkip(
  name: string,
  packages: readonly string[],
  options: PythonEnvOptions = {},
): Promise<PythonEnv | { skip: string }> {
  try {
    return await ensurePythonEnv(name, packages, options);
  } catch (err) {
    if (process.env.CI === 'true') throw err;
    const skip = `python environment "${name}" is unavailable: ${(err as Error).message}`;
    console.warn(`\n*** ${skip} ***\n`);
    return { skip };
  }
}

/**
 * `describe` for tests that need a Python environment: builds it during collection (call with top-level await),
 * then runs `body(env)`; skipped with the reason outside CI when the environment cannot be made, failing under CI.
 */
export async function describeWithPython(
  name: string,
  packages: readonly string[],
  title: string,
  body: (env: PythonEnv) => void,
): Promise<void> {
  let env: PythonEnv | { skip: string };
  try {
    env = await pythonEnvOrSkip(name, packages);
  } catch (err) {
    describe(title, () => {
      it(`needs python environment ${name}`, () => {
        throw err;
      });
    });
    return;
  }
  if ('skip' in env) {
    const reason = env.skip;
    describe(title, () => {
      it.skip(reason, () => {});
    });
    return;
  }
  const ready = env;
  describe(title, () => body(ready));
}
