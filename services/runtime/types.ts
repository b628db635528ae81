import type { Socket } from 'node:net';
import type { HandoffMessage } from '../../functions/sdk/handoff.ts';

/**
 * The runtime actuator contract (DESIGN §4 "Runtime actuator"): what the reconciler, the autoscaler and the
 * gateway need from whatever runs replicas — the local process supervisor here, the Kubernetes scale subresource
 * in cluster mode. Functions are named by key `"<namespace>/<name>"`.
 */
export interface ReplicaInfo {
  /** Stable id of the replica slot (kept across crash restarts); also its log file name. */
  id: string;
  /** Port the replica listens on (127.0.0.1); undefined until it has reported one. */
  port: number | undefined;
  /** True while the replica passes its readiness probe and is not being stopped: only then may it get traffic. */
  ready: boolean;
  pid: number | undefined;
  /** Crash restarts of this slot so far. */
  restarts: number;
  /** Exit code (or signal name) of the last unexpected exit. */
  lastExitCode?: number | string;
  /** Why the last run ended, with the tail of its log. */
  lastError?: string;
  state: 'starting' | 'ready' | 'not-ready' | 'backoff' | 'stopping';
  /** Deployment generation the replica runs (bumped when the handler or env changes). */
  generation: number;
}

export type ChangeListener = (fn: string) => void;

export interface RuntimeActuator {
  /** Sets the desired replica count; resolves once new replicas had their chance to get ready and removed ones exited. */
  scale(fn: string, n: number): Promise<void>;
  /** Current replicas, ready or not, stopping ones included (their `ready` is false). */
  replicas(fn: string): ReplicaInfo[];
  /** Called whenever a replica of `fn` appears, disappears, or changes readiness/port. Returns an unsubscribe. */
  onChange(cb: ChangeListener): () => void;
  /** Stops every replica gracefully: SIGTERM, wait up to `graceMs` for the drain, then SIGKILL. */
  stopAll(graceMs?: number): Promise<void>;
  /**
   * Gives a client connection straight to replica `replicaId` of `fn` (the local runtime only: its replicas are
   * its child processes). False when that replica cannot take it; the caller keeps the socket.
   */
  handoff?(fn: string, replicaId: string, socket: Socket, message: HandoffMessage): boolean;
  /** Load the replicas of `fn` served on handed connections since the previous call, summed over replicas. */
  takeDirectLoad?(fn: string): { concurrency: number; requests: number };
}

/** `"<namespace>/<name>"`. */
export function functionKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

export function splitFunctionKey(fn: string): { namespace: string; name: string } {
  const slash = fn.indexOf('/');
  return slash === -1
    ? { namespace: 'default', name: fn }
    : { namespace: fn.slice(0, slash), name: fn.slice(slash + 1) };
}
