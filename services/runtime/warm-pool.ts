/**
 * A small pool of pre-started generic replica processes (stem-cell.mjs) that load a function's handler on demand.
 *
 * Spawning `node` costs about 90 ms of CPU on an idle laptop core and several times that on a busy one; a pool
 * process has paid it already, so a function at zero is ready in the time it takes to import its bundle and
 * listen (~25 ms). A taken process is replaced after a short delay, so the refill does not compete with the cold
 * start it served. Each pool process is plain `node` waiting on IPC, and its memory is reported (`rssBytes`).
 *
 * Logs: a pool process writes to its own file from the start (stdio cannot be re-pointed later); when it becomes a
 * replica that file is renamed to the replica's log path, which the open descriptor follows.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, copyFileSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export interface WarmPoolOptions {
  /** Processes kept ready. */
  size: number;
  /** Directory of the pool processes' own log files (same filesystem as replica logs, for rename). */
  logDir: string;
  /**
   * Where the pool script is copied and run from: under the state directory, so pool processes (and replicas made
   * from them) are found by their command line like spawned replicas are.
   */
  scriptDir: string;
  /** Environment the processes start with (a taken one receives the replica's full environment). */
  env: NodeJS.ProcessEnv;
  /** Extra `node` flags (must match what replicas would be spawned with). @defaultValue [] */
  nodeArgs?: readonly string[];
  /** Delay before a taken process is replaced. @defaultValue 200 */
  refillDelayMs?: number;
}

/** A pool process handed to a replica. */
export interface StemCell {
  child: ChildProcess;
  /** Its log file, to be renamed to the replica's. */
  logFile: string;
}

const STEM_SOURCE = join(import.meta.dirname, 'stem-cell.mjs');

interface Member extends StemCell {
  ready: boolean;
}

export class WarmPool {
  readonly size: number;
  #options: WarmPoolOptions;
  #members: Member[] = [];
  #seq = 0;
  #closed = false;
  #refill: NodeJS.Timeout | undefined;
  #failures = 0;
  #script: string;

  constructor(options: WarmPoolOptions) {
    this.#options = options;
    this.size = options.size;
    mkdirSync(options.logDir, { recursive: true });
    mkdirSync(options.scriptDir, { recursive: true });
    this.#script = join(options.scriptDir, 'stem-cell.mjs');
    copyFileSync(STEM_SOURCE, this.#script);
    // Files of a previous run's pool processes (they exit with their supervisor).
    for (const f of readdirSync(options.logDir)) rmSync(join(options.logDir, f), { force: true });
    this.#fill();
  }

  /** Processes started and ready to take a function. */
  get idle(): number {
    return this.#members.filter((m) => m.ready).length;
  }

  /** A ready pool process, removed from the pool (a replacement is started shortly), or undefined. */
  take(): StemCell | undefined {
    const i = this.#members.findIndex((m) => m.ready && m.child.exitCode === null && m.child.signalCode === null);
    if (i === -1) return undefined;
    const [member] = this.#members.splice(i, 1);
    member!.child.removeAllListeners('message');
    member!.child.removeAllListeners('exit');
    this.#scheduleFill(this.#options.refillDelayMs ?? 200);
    return { child: member!.child, logFile: member!.logFile };
  }

  /** Resident memory of the idle pool processes, in bytes (Linux; 0 where /proc is missing). */
  rssBytes(): number {
    let total = 0;
    for (const m of this.#members) {
      try {
        const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${m.child.pid}/status`, 'utf8'))?.[1];
        total += Number(kb ?? 0) * 1024;
      } catch {
        // exited meanwhile, or not Linux
      }
    }
    return total;
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#refill) clearTimeout(this.#refill);
    const members = this.#members.splice(0);
    await Promise.all(
      members.map(
        (m) =>
          new Promise<void>((resolve) => {
            if (m.child.exitCode !== null || m.child.signalCode !== null) resolve();
            else {
              m.child.once('exit', () => resolve());
              m.child.kill('SIGKILL');
            }
            rmSync(m.logFile, { force: true });
          }),
      ),
    );
  }

  #scheduleFill(ms: number): void {
    if (this.#refill || this.#closed) return;
    this.#refill = setTimeout(() => {
      this.#refill = undefined;
      this.#fill();
    }, ms);
    this.#refill.unref();
  }

  #fill(): void {
    while (!this.#closed && this.#members.length < this.size) this.#spawn();
  }

  #spawn(): void {
    const logFile = join(this.#options.logDir, `stem-${process.pid}-${++this.#seq}.log`);
    const fd = openSync(logFile, 'a');
    let child: ChildProcess;
    try {
      // spawn, not fork: fork would pass on this process's execArgv (a TypeScript loader under tsx or vitest).
      child = spawn(process.execPath, [...(this.#options.nodeArgs ?? []), this.#script], {
        env: this.#options.env,
        stdio: ['ignore', fd, fd, 'ipc'],
        serialization: 'json',
      });
    } finally {
      closeSync(fd);
    }
    const member: Member = { child, logFile, ready: false };
    this.#members.push(member);
    child.on('message', (m: { type?: string }) => {
      if (m?.type === 'es:stem-ready') {
        member.ready = true;
        this.#failures = 0;
      }
    });
    child.on('error', () => {});
    child.once('exit', () => {
      const i = this.#members.indexOf(member);
      if (i !== -1) this.#members.splice(i, 1);
      rmSync(logFile, { force: true });
      // A pool process that dies on its own is replaced, slower each time it keeps happening.
      if (!member.ready) this.#failures++;
      this.#scheduleFill(Math.min(30_000, 200 * 2 ** this.#failures));
    });
  }
}
