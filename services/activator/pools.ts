import { Pool } from 'undici';

/**
 * One keep-alive undici Pool per replica port: a delivery reuses a warm connection instead of opening one, and a
 * replica that goes away takes only its own pool with it.
 */
export class ReplicaPools {
  #pools = new Map<number, Pool>();

  get(port: number): Pool {
    let pool = this.#pools.get(port);
    if (!pool) {
      // Below the replica server's 65 s idle timeout, so this side always closes idle sockets first.
      pool = new Pool(`http://127.0.0.1:${port}`, { connections: 512, keepAliveTimeout: 30_000, pipelining: 1 });
      this.#pools.set(port, pool);
    }
    return pool;
  }

  /** Closes the pools of ports no longer in `live`, once their in-flight requests are done. */
  retain(live: ReadonlySet<number>): void {
    for (const [port, pool] of this.#pools) {
      if (!live.has(port)) {
        this.#pools.delete(port);
        void pool.close().catch(() => {});
      }
    }
  }

  async close(): Promise<void> {
    const all = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(all.map((p) => p.close().catch(() => {})));
  }
}
