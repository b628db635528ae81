/**
 * One replica slot: a child `node <entry>.mjs` process, its readiness, and its crash-restart loop.
 *
 * The child reports over IPC: `es:listening` with its port (it listens on port 0, so no port races) and `es:ready`
 * once its init has run. `es:ready` makes the replica ready at once — no HTTP probe round trip on the cold-start
 * path; after that /healthz is probed now and then as a liveness check. stdout/stderr go straight to the log file
 * without passing through this process, and the IPC channel tells the child when the supervisor is gone, so
 * replicas never outlive it. A first run may adopt a pre-started pool process (warm-pool.ts) instead of spawning.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, closeSync, fstatSync, openSync, renameSync, statSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { request } from 'undici';
import type { HandoffMessage } from '../../functions/sdk/handoff.ts';
import type { ReplicaMessage } from '../../functions/sdk/server.ts';
import type { ReplicaInfo } from './types.ts';
import type { StemCell } from './warm-pool.ts';

export interface ReplicaTimings {
  /** A run that has not passed its probe within this is killed and counted as a crash. @defaultValue 30000 */
  readyTimeoutMs: number;
  /** Liveness probe interval once ready. @defaultValue 1000 */
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
  /** Load the replica served on handed connections, reported since the last `takeDirectLoad`. */
  #direct = { concurrency: 0, requests: 0, at: 0 };

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

  /**
   * Passes a client connection to the running replica (functions/sdk/handoff.ts); false when it cannot take one
   * now, and the caller keeps the socket. A send that fails later closes the socket: the client reconnects.
   */
  handoff(socket: Socket, message: HandoffMessage): boolean {
    const child = this.#child;
    if (!this.ready || !child?.connected) return false;
    try {
      child.send(message, socket, (err) => {
        if (err) socket.destroy();
      });
      return true;
    } catch {
      return false;
    }
  }

  /**
   * The load reported by the replica since the previous call: requests summed, the latest concurrency (0 once
   * it is older than two reports: a replica that stopped reporting is idle or gone).
   */
  takeDirectLoad(now = performance.now()): { concurrency: number; requests: number } {
    const d = this.#direct;
    const load = { concurrency: now - d.at <= 2000 ? d.concurrency : 0, requests: d.requests };
    d.requests = 0;
    return load;
  }

  /** Starts a run: adopts `stem` (a pre-started pool process) when given, else spawns `node <entry>`. */
  start(stem?: StemCell): void {
    if (this.#stopping) return;
    this.port = undefined;
    this.#probeFailures = 0;
    this.state = 'starting';
    const child = (stem && this.#adopt(stem)) || this.#spawn();
    this.#startedAt = Date.now();
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

  #runHeader(): string {
    return `--- ${new Date().toISOString()} replica ${this.spec.id} start (restarts: ${this.restarts})\n`;
  }

  #spawn(): ChildProcess {
    const fd = openSync(this.spec.logFile, 'a');
    writeSync(fd, this.#runHeader());
    this.#runLogOffset = fstatSync(fd).size;
    try {
      // spawn, not fork: fork would pass on this process's execArgv (a TypeScript loader under tsx or vitest).
      return spawn(process.execPath, [...this.spec.nodeArgs, this.spec.entry], {
        cwd: this.spec.cwd,
        env: this.spec.env,
        stdio: ['ignore', fd, fd, 'ipc'],
        serialization: 'json',
      });
    } finally {
      closeSync(fd);
    }
  }

  /** Turns a pool process into this replica: its log file becomes the replica's, then it loads the entry. */
  #adopt(stem: StemCell): ChildProcess | undefined {
    const alive = stem.child.exitCode === null && stem.child.signalCode === null && stem.child.connected;
    try {
      if (!alive) throw new Error('pool process is gone');
      // Never replace an existing log: the open descriptor would keep writing to a file that is gone.
      if (statSync(this.spec.logFile, { throwIfNoEntry: false })) throw new Error('log file exists');
      renameSync(stem.logFile, this.spec.logFile);
    } catch {
      stem.child.kill('SIGKILL');
      return undefined;
    }
    appendFileSync(this.spec.logFile, this.#runHeader());
    this.#runLogOffset = statSync(this.spec.logFile).size;
    stem.child.send({ type: 'es:load', entry: this.spec.entry, env: this.spec.env, cwd: this.spec.cwd });
    return stem.child;
  }

  #onMessage(m: ReplicaMessage): void {
    if (m.type === 'es:listening') {
      this.port = m.port;
    } else if (m.type === 'es:ready') {
      if (this.port === undefined) return;
      this.#probeFailures = 0;
      this.#setReady(true);
      this.#scheduleProbe();
    } else if (m.type === 'es:draining') {
      this.#setReady(false);
    } else if (m.type === 'es:load') {
      this.#direct.concurrency = m.concurrency;
      this.#direct.requests += m.requests;
      this.#direct.at = performance.now();
    }
  }

  #scheduleProbe(): void {
    const child = this.#child;
    this.#after(this.#timings.probeIntervalMs, () => {
      if (child === this.#child) void this.#probe();
    });
  }

  /** One liveness probe of /healthz; schedules the next one. */
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
    this.#scheduleProbe();
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
