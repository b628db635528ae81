import type { ChangeListener, ReplicaInfo } from '../runtime/types.ts';

/** What the runtime reports about replicas, set by a test; the replica servers themselves are real. */
export class TestReplicas {
  #byFn = new Map<string, ReplicaInfo[]>();
  #listeners = new Set<ChangeListener>();

  replicas(fn: string): ReplicaInfo[] {
    return this.#byFn.get(fn) ?? [];
  }

  onChange(cb: ChangeListener): () => void {
    this.#listeners.add(cb);
    return () => this.#listeners.delete(cb);
  }

  /** Replaces `fn`'s replicas (ready ones unless a field says otherwise) and tells the listeners. */
  set(fn: string, list: Partial<ReplicaInfo>[]): void {
    this.#byFn.set(
      fn,
      list.map((r, i) => ({
        id: `r${i}`,
        port: undefined,
        ready: true,
        pid: undefined,
        restarts: 0,
        state: 'ready',
        generation: 1,
        ...r,
      })),
    );
    for (const cb of this.#listeners) cb(fn);
  }
}
