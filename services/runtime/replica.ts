/**
 * One replica slot: a child `node <entry>.mjs` process, its readiness, and its crash-restart loop.
 *
 * The port is learned over IPC (the child listens on port 0 and sends `es:listening`): faster than polling a port
 * and robust against port races, and it lets stdout/stderr go straight to the log file without passing through
 * this process. The IPC channel also tells the child when the supervisor is gone, so replicas never outlive it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, closeSync, fstatSync, openSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { request } from 'undici';
import type { ReplicaMessage } from '../../functions/sdk/server.ts';
import type { ReplicaInfo } from './types.ts';

export interface ReplicaTimings {
  /** A run that has not passed its probe within this is killed and counted as a crash. @defaultValue 30000 */
  readyTimeoutMs: number;
  /** Probe interval while starting. @defaultValue 20 */
  startProbeIntervalMs: number;
  /** Probe interval once ready. @defaultValue 1000 */
  probeIntervalMs: number;
  /** Consecutive failed probes before a ready replica counts as not ready. @defaultValue 3 */
  probeFailureThreshold: number;
  /** First crash-restart delay; doubles per consecutive crash. @defaultValue 200 */
  backoffInitialMs: number;
  /** @defaultValue 30000 */
  backoffMaxMs: number;
  /** A run that stayed up this long resets the backoff. @defaultValue 30000 */
  backoffResetMs: number;
}

export interface ReplicaSpec {
  id: string;
  generation: number;
  entry: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  logFile: string;
  nodeArgs: readonly string[];
}

const PROBE_TIMEOUT_MS = 1000;

export class Replica {
  readonly spec: ReplicaSpec;
  port: number | undefined;
  ready = false;
  restarts = 0;
  lastExitCode: number | string | undefined;
  lastError: string | undefined;
  state: ReplicaInfo['state'] = 'starting';
  /** Set when the first run either became ready or ended; lets `scale()` wait without hanging on a crash loop. */
  readonly settled: Promise<void>;

  #child: ChildProcess | undefined;
  #timings: ReplicaTimings;
  #onChange: () => void;
  #settle!: () => void;
  #timers = new Set<NodeJS.Timeout>();
  #consecutiveCrashes = 0;
  #startedAt = 0;
  #runLogOffset = 0;
  #probeFailures = 0;
  #probing = false;
  #stopping: Promise<void> | undefined;
  #exited: (() => void) | undefined;

  constructor(spec: ReplicaSpec, timings: ReplicaTimings, onChange: () => void) {
    this.spec = spec;
    this.#timings = timings;
    this.#onChange = onChange;
    this.settled = new Promise((resolve) => {
      this.#settle = resolve;
    });
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  info(): ReplicaInfo {
    const info: ReplicaInfo = {
      id: this.spec.id,
      port: this.port,
      ready: this.ready,
      pid: this.pid,
      restarts: this.restarts,
      state: this.state,
      generation: this.spec.generation,
    };
    if (this.lastExitCode !== undefined) info.lastExitCode = this.lastExitCode;
    if (this.lastError !== undefined) info.lastError = this.lastError;
    return info;
  }

  start(): void {
    if (this.#stopping) return;
    const fd = openSync(this.spec.logFile, 'a');
    writeSync(fd, `--- ${new Date().toISOString()} replica ${this.spec.id} start (restarts: ${this.restarts})\n`);
    this.#runLogOffset = fstatSync(fd).size;
    this.#startedAt = Date.now();
    this.port = undefined;
    this.#probeFailures = 0;
    this.state = 'starting';
    let child: ChildProcess;
    try {
      // spawn, not fork: fork would pass on this process's execArgv (a TypeScript loader under tsx or vitest).
      child = spawn(process.execPath, [...this.spec.nodeArgs, this.spec.entry], {
        cwd: this.spec.cwd,
        env: this.spec.env,
        stdio: ['ignore', fd, fd, 'ipc'],
        serialization: 'json',
      });
    } finally {
      closeSync(fd);
    }
    this.#child = child;
    if (this.restarts > 0) this.#onChange();
    child.on('message', (m: ReplicaMessage) => this.#onMessage(m));
    child.on('error', (err) => {
      this.lastError = `spawn failed: ${err.message}`;
    });
    child.once('exit', (code, signal) => this.#onExit(child, code, signal));
    this.#after(this.#timings.readyTimeoutMs, () => {
      if (this.#child === child && !this.ready && this.state === 'starting') {
        this.lastError = `not ready within ${this.#timings.readyTimeoutMs} ms`;
        child.kill('SIGKILL');
      }
    });
  }

  #onMessage(m: ReplicaMessage): void {
    if (m.type === 'es:listening') {
      this.port = m.port;
      void this.#probe();
    } else if (m.type === 'es:ready') {
      void this.#probe();
    } else if (m.type === 'es:draining') {
      this.#setReady(false);
    }
  }

  /** One readiness probe of /healthz; schedules the next one. */
  async #probe(): Promise<void> {
    if (this.#probing || this.port === undefined || this.#stopping) return;
    this.#probing = true;
    const child = this.#child;
    let ok = false;
    try {
      const res = await request(`http://127.0.0.1:${this.port}/healthz`, {
        headersTimeout: PROBE_TIMEOUT_MS,
        bodyTimeout: PROBE_TIMEOUT_MS,
      });
      await res.body.dump();
      ok = res.statusCode === 200;
    } catch {
      ok = false;
    } finally {
      this.#probing = false;
    }
    if (child !== this.#child || this.#stopping) return;
    if (ok) {
      this.#probeFailures = 0;
      this.#setReady(true);
    } else if (this.ready && ++this.#probeFailures >= this.#timings.probeFailureThreshold) {
      this.#setReady(false);
    }
    const interval = this.ready ? this.#timings.probeIntervalMs : this.#timings.startProbeIntervalMs;
    this.#after(interval, () => {
      if (child === this.#child) void this.#probe();
    });
  }

  #setReady(ready: boolean): void {
    if (ready && this.state === 'starting') this.#settle();
    const state = this.#stopping ? 'stopping' : ready ? 'ready' : this.state === 'starting' ? 'starting' : 'not-ready';
    if (this.ready === ready && this.state === state) return;
    this.ready = ready && !this.#stopping;
    this.state = state;
    this.#onChange();
  }

  async #onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    if (child !== this.#child) return;
    this.#clearTimers();
    const wasReady = this.ready;
    const how = code !== null ? `code ${code}` : `signal ${signal}`;
    try {
      appendFileSync(
        this.spec.logFile,
        `--- ${new Date().toISOString()} replica ${this.spec.id} exited with ${how}${this.#stopping ? ' (stopped)' : ''}\n`,
      );
    } catch {
      // the log directory may be gone (state dir removed); the exit is still handled below
    }
    this.ready = false;
    this.port = undefined;
    if (this.#stopping) {
      this.#child = undefined;
      this.#exited?.();
      this.#settle();
      return;
    }
    const ranMs = Date.now() - this.#startedAt;
    this.lastExitCode = code ?? signal ?? undefined;
    const why = this.lastError?.startsWith('not ready within') ? this.lastError : `exited with ${how}`;
    this.lastError = `${why}${await logTail(this.spec.logFile, this.#runLogOffset)}`;
    if (this.#stopping) {
      this.#settle();
      return;
    }
    this.restarts++;
    this.#consecutiveCrashes = wasReady && ranMs >= this.#timings.backoffResetMs ? 1 : this.#consecutiveCrashes + 1;
    const delay = Math.min(
      this.#timings.backoffInitialMs * 2 ** (this.#consecutiveCrashes - 1),
      this.#timings.backoffMaxMs,
    );
    this.state = 'backoff';
    this.#settle();
    this.#onChange();
    this.#after(delay, () => this.start());
  }

  /** Graceful stop: not ready at once, SIGTERM (the SDK drains in-flight work), SIGKILL after `graceMs`. */
  stop(graceMs: number): Promise<void> {
    if (this.#stopping) return this.#stopping;
    this.#clearTimers();
    const child = this.#child;
    this.ready = false;
    this.state = 'stopping';
    this.#onChange();
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      this.#settle();
      this.#stopping = Promise.resolve();
      return this.#stopping;
    }
    this.#stopping = new Promise<void>((resolve) => {
      const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
      this.#exited = () => {
        clearTimeout(kill);
        resolve();
      };
      child.kill('SIGTERM');
    });
    return this.#stopping;
  }

  #after(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      fn();
    }, ms);
    this.#timers.add(t);
  }

  #clearTimers(): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
  }
}

/** The last few lines a crashed run wrote, so `describe function` can say why without opening the log. */
/** Stack frames, Node's version footer and the caret line say nothing about why a replica died. */
const NOISE = /^\s+at |^Node\.js v\d|^\s*\^+\s*$|^node:internal|triggerUncaughtException\(/;

async function logTail(file: string, from: number, bytes = 4000): Promise<string> {
  try {
    const handle = await open(file, 'r');
    try {
      const { size } = await handle.stat();
      const start = Math.max(from, size - bytes);
      if (start >= size) return '';
      const buf = Buffer.alloc(size - start);
      await handle.read(buf, 0, buf.length, start);
      const lines = buf
        .toString('utf8')
        .split('\n')
        .filter((l) => l.trim() !== '' && !l.startsWith('--- ') && !NOISE.test(l));
      // The last error line (`Error: why`) is the reason; fall back to the last lines of output.
      const errorLine = lines.findLast((l) => /^(Uncaught )?\w*Error\b.*:/.test(l) || /"level":(50|60)/.test(l));
      const tail = errorLine ?? lines.slice(-4).join('\n');
      return tail ? `: ${tail}` : '';
    } finally {
      await handle.close();
    }
  } catch {
    return '';
  }
}
