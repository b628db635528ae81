/**
 * The local runtime actuator: runs each Function's replicas as child processes of the platform.
 *
 * `deploy()` says what to run (the transpiled entry and env), `scale()` how many. A changed deployment is rolled:
 * replicas of the new generation start while the old ones keep serving, and an old one stops each time a new one
 * becomes ready, so a bad handler never takes a working function down.
 */
import { EventEmitter } from 'node:events';
import { mkdirSync, readdirSync } from 'node:fs';
import type { Socket } from 'node:net';
import { join, resolve } from 'node:path';
import type { HandoffMessage } from '../../functions/sdk/handoff.ts';
import { Replica, type ReplicaTimings } from './replica.ts';
import { type ChangeListener, type ReplicaInfo, type RuntimeActuator, splitFunctionKey } from './types.ts';
import { WarmPool } from './warm-pool.ts';

export interface FunctionDeployment {
  /** Absolute path of the transpiled replica entry (see transpile.ts). */
  entry: string;
  /** Function spec env (`spec.env`), added to the platform's environment. @defaultValue {} */
  env?: Record<string, string>;
  /** Passed on as ES_FUNCTION_TIMEOUT_SECONDS (the SDK's per-event deadline). @defaultValue 300 */
  timeoutSeconds?: number;
  /** Working directory of the replicas. @defaultValue the runtime's `baseDir` */
  cwd?: string;
  /**
   * How long a replica being scaled down or rolled may take to finish its in-flight requests before SIGKILL
   * (Knative gives a revision's pods its request timeout). @defaultValue the runtime's `stopGraceMs`
   */
  drainTimeoutMs?: number;
}

export interface LocalRuntimeOptions extends Partial<ReplicaTimings> {
  /** Replica logs go to `<stateDir>/logs/<ns>/<name>/<replica>.log`. @defaultValue '.elastic-serving' */
  stateDir?: string;
  /** Default working directory of replicas. @defaultValue process.cwd() */
  baseDir?: string;
  /** How long a stopping replica may drain before SIGKILL. @defaultValue 10000 */
  stopGraceMs?: number;
  /** Extra `node` flags for every replica (e.g. `--max-old-space-size=256`). @defaultValue [] */
  nodeArgs?: string[];
  /**
   * Pre-started generic replica processes kept ready to load a handler (warm-pool.ts); 0 spawns every replica.
   * Started with the first deployment. @defaultValue 0
   */
  warmPool?: number;
  /**
   * Added to every replica's environment (under the Function's own `env`), read at each replica start, so the
   * platform can fill it with addresses it learns after creating the runtime (ES_CONTROL_URL, ES_INGRESS_URL…).
   * @defaultValue {}
   */
  env?: Record<string, string>;
}

const DEFAULT_TIMINGS: ReplicaTimings = {
  readyTimeoutMs: 30_000,
  probeIntervalMs: 1000,
  probeFailureThreshold: 3,
  backoffInitialMs: 200,
  backoffMaxMs: 30_000,
  backoffResetMs: 30_000,
};

interface FunctionState {
  deployment: FunctionDeployment | undefined;
  generation: number;
  desired: number;
  replicas: Replica[];
  seq: number;
}

export class LocalRuntime implements RuntimeActuator {
  /** Emits `change` (fn), `ready` (fn, ReplicaInfo), `not-ready` (fn, ReplicaInfo). */
  readonly events = new EventEmitter();
  readonly stateDir: string;
  #baseDir: string;
  #timings: ReplicaTimings;
  #stopGraceMs: number;
  #nodeArgs: string[];
  #env: Record<string, string>;
  #functions = new Map<string, FunctionState>();
  #stopped = false;
  #warmPoolSize: number;
  #pool: WarmPool | undefined;

  constructor(options: LocalRuntimeOptions = {}) {
    this.#baseDir = resolve(options.baseDir ?? process.cwd());
    this.stateDir = resolve(this.#baseDir, options.stateDir ?? '.elastic-serving');
    this.#stopGraceMs = options.stopGraceMs ?? 10_000;
    this.#nodeArgs = options.nodeArgs ?? [];
    this.#env = options.env ?? {};
    this.#warmPoolSize = options.warmPool ?? 0;
    const timings = { ...DEFAULT_TIMINGS };
    for (const key of Object.keys(DEFAULT_TIMINGS) as (keyof ReplicaTimings)[]) {
      const value = options[key];
      if (value !== undefined) timings[key] = value;
    }
    this.#timings = timings;
    this.events.setMaxListeners(0);
  }

  /** Sets (or changes) what a function runs. A change rolls its replicas; scale is kept. */
  async deploy(fn: string, deployment: FunctionDeployment): Promise<void> {
    const state = this.#state(fn);
    if (this.#warmPoolSize > 0 && !this.#pool) {
      this.#pool = new WarmPool({
        size: this.#warmPoolSize,
        logDir: join(this.stateDir, 'logs', '.warm-pool'),
        scriptDir: join(this.stateDir, 'runtime'),
        env: replicaBaseEnv(),
        nodeArgs: this.#nodeArgs,
      });
    }
    const before = state.deployment;
    if (before && sameDeployment(before, deployment)) return;
    state.deployment = { ...deployment };
    if (before) state.generation++;
    await this.#reconcile(fn, state);
  }

  async scale(fn: string, n: number): Promise<void> {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`scale(${fn}, ${n}): replicas must be an integer >= 0`);
    const state = this.#functions.get(fn);
    // A late decision for a removed function must not bring back an empty entry.
    if (!state?.deployment) {
      if (n === 0) return;
      throw new Error(`scale(${fn}): deploy() the function first`);
    }
    state.desired = n;
    await this.#reconcile(fn, state);
  }

  /** Stops every replica of a function and forgets it. */
  async remove(fn: string, graceMs = this.#stopGraceMs): Promise<void> {
    const state = this.#functions.get(fn);
    if (!state) return;
    this.#functions.delete(fn);
    await Promise.all(state.replicas.map((r) => r.stop(graceMs)));
    this.events.emit('change', fn);
  }

  replicas(fn: string): ReplicaInfo[] {
    return this.#functions.get(fn)?.replicas.map((r) => r.info()) ?? [];
  }

  /** Keys of the functions the runtime knows. */
  functions(): string[] {
    return [...this.#functions.keys()];
  }

  /** Replicas of `fn` that may take traffic now. */
  readyReplicas(fn: string): number {
    let n = 0;
    for (const r of this.#functions.get(fn)?.replicas ?? []) if (r.ready) n++;
    return n;
  }

  /** The warm pool: processes kept ready and their resident memory (bytes); zeros when there is none. */
  warmPool(): { size: number; idle: number; rssBytes: number } {
    const pool = this.#pool;
    return pool ? { size: pool.size, idle: pool.idle, rssBytes: pool.rssBytes() } : { size: 0, idle: 0, rssBytes: 0 };
  }

  /** Path of a replica's log (stdout and stderr of every run, appended). */
  logFile(fn: string, replicaId: string): string {
    const { namespace, name } = splitFunctionKey(fn);
    return join(this.stateDir, 'logs', namespace, name, `${replicaId}.log`);
  }

  handoff(fn: string, replicaId: string, socket: Socket, message: HandoffMessage): boolean {
    const replica = this.#functions.get(fn)?.replicas.find((r) => r.spec.id === replicaId);
    return replica?.handoff(socket, message) ?? false;
  }

  takeDirectLoad(fn: string): { concurrency: number; requests: number } {
    const total = { concurrency: 0, requests: 0 };
    const now = performance.now();
    for (const r of this.#functions.get(fn)?.replicas ?? []) {
      const load = r.takeDirectLoad(now);
      total.concurrency += load.concurrency;
      total.requests += load.requests;
    }
    return total;
  }

  onChange(cb: ChangeListener): () => void {
    this.events.on('change', cb);
    return () => this.events.off('change', cb);
  }

  /** Resolves when `n` replicas of the current generation are ready; rejects after `timeoutMs`. */
  waitReady(fn: string, n: number, timeoutMs = this.#timings.readyTimeoutMs): Promise<void> {
    const count = () => {
      const state = this.#functions.get(fn);
      return state ? state.replicas.filter((r) => r.ready && r.spec.generation === state.generation).length : 0;
    };
    if (count() >= n) return Promise.resolve();
    return new Promise((resolvePromise, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`${fn}: ${count()} of ${n} replicas ready after ${timeoutMs} ms`));
      }, timeoutMs);
      const off = this.onChange((changed) => {
        if (changed === fn && count() >= n) {
          clearTimeout(timer);
          off();
          resolvePromise();
        }
      });
    });
  }

  async stopAll(graceMs = this.#stopGraceMs): Promise<void> {
    this.#stopped = true;
    const all = [...this.#functions.entries()];
    this.#functions.clear();
    await Promise.all([this.#pool?.close(), ...all.flatMap(([, state]) => state.replicas.map((r) => r.stop(graceMs)))]);
    for (const [fn] of all) this.events.emit('change', fn);
  }

  #state(fn: string): FunctionState {
    let state = this.#functions.get(fn);
    if (!state) {
      if (this.#stopped) throw new Error('runtime is stopped');
      state = { deployment: undefined, generation: 1, desired: 0, replicas: [], seq: this.#lastReplicaSeq(fn) };
      this.#functions.set(fn, state);
    }
    return state;
  }

  #onReplicaChange(fn: string, replica: Replica): void {
    const state = this.#functions.get(fn);
    if (state?.replicas.includes(replica)) {
      if (replica.state === 'ready' || replica.state === 'not-ready') {
        this.events.emit(replica.ready ? 'ready' : 'not-ready', fn, replica.info());
      }
      const rolling = state.replicas.some((r) => r.spec.generation !== state.generation && r.state !== 'stopping');
      if (replica.state === 'ready' && replica.spec.generation === state.generation && rolling)
        void this.#reconcile(fn, state);
    }
    this.events.emit('change', fn);
  }

  #startReplica(fn: string, state: FunctionState): Replica {
    const deployment = state.deployment!;
    const { namespace, name } = splitFunctionKey(fn);
    const id = `${name}-${++state.seq}`;
    const logFile = this.logFile(fn, id);
    mkdirSync(join(logFile, '..'), { recursive: true });
    const env = replicaBaseEnv();
    Object.assign(env, this.#env, deployment.env, {
      PORT: '0',
      HOST: '127.0.0.1',
      ES_FUNCTION_NAME: name,
      ES_FUNCTION_NAMESPACE: namespace,
      ES_FUNCTION_TIMEOUT_SECONDS: String(deployment.timeoutSeconds ?? 300),
      K_SERVICE: name,
    });
    const replica: Replica = new Replica(
      {
        id,
        generation: state.generation,
        entry: deployment.entry,
        cwd: deployment.cwd ?? this.#baseDir,
        env,
        logFile,
        nodeArgs: this.#nodeArgs,
      },
      this.#timings,
      () => this.#onReplicaChange(fn, replica),
    );
    state.replicas.push(replica);
    replica.start(this.#pool?.take());
    return replica;
  }

  /**
   * The highest replica number of `fn` with a log file, so slot ids (and log files) stay unique across restarts
   * of the platform: a log only ever grows, and a pool process's log can be renamed into place.
   */
  #lastReplicaSeq(fn: string): number {
    const { name } = splitFunctionKey(fn);
    let last = 0;
    try {
      for (const f of readdirSync(join(this.logFile(fn, 'x'), '..'))) {
        if (!f.startsWith(`${name}-`) || !f.endsWith('.log')) continue;
        const n = Number(f.slice(name.length + 1, -4));
        if (Number.isSafeInteger(n) && n > last) last = n;
      }
    } catch {
      // no logs yet
    }
    return last;
  }

  #stopReplica(fn: string, state: FunctionState, replica: Replica): Promise<void> {
    return replica.stop(state.deployment?.drainTimeoutMs ?? this.#stopGraceMs).then(() => {
      const i = state.replicas.indexOf(replica);
      if (i !== -1) state.replicas.splice(i, 1);
      this.events.emit('change', fn);
    });
  }

  async #reconcile(fn: string, state: FunctionState): Promise<void> {
    if (this.#functions.get(fn) !== state) return;
    const live = state.replicas.filter((r) => r.state !== 'stopping');
    const current = live.filter((r) => r.spec.generation === state.generation);
    const old = live.filter((r) => r.spec.generation !== state.generation);
    const started: Replica[] = [];
    const stopping: Promise<void>[] = [];
    for (let i = current.length; i < state.desired; i++) started.push(this.#startReplica(fn, state));
    // Scale down: not-ready replicas go first, then the newest.
    const excess = [...current].sort(
      (a, b) => Number(a.ready) - Number(b.ready) || b.spec.id.localeCompare(a.spec.id, 'en', { numeric: true }),
    );
    for (const r of excess.slice(0, Math.max(0, current.length - state.desired)))
      stopping.push(this.#stopReplica(fn, state, r));
    // Roll: keep as many old replicas serving as new ones are still missing.
    const readyNew = current.filter((r) => r.ready).length;
    const keepOld = Math.max(0, state.desired - readyNew);
    const oldByReadiness = [...old].sort((a, b) => Number(a.ready) - Number(b.ready));
    for (const r of oldByReadiness.slice(0, Math.max(0, old.length - keepOld)))
      stopping.push(this.#stopReplica(fn, state, r));
    if (started.length > 0 || stopping.length > 0) this.events.emit('change', fn);
    await Promise.all([...started.map((r) => r.settled), ...stopping]);
  }
}

/** The platform's environment without what must not leak into plain-node replicas. */
function replicaBaseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // The platform may run under a TypeScript loader; replicas are plain node, so its flags must not leak in.
  delete env.NODE_OPTIONS;
  return env;
}

function sameDeployment(a: FunctionDeployment, b: FunctionDeployment): boolean {
  return (
    a.entry === b.entry &&
    a.cwd === b.cwd &&
    a.timeoutSeconds === b.timeoutSeconds &&
    JSON.stringify(a.env ?? {}) === JSON.stringify(b.env ?? {})
  );
}
