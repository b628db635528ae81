/** What a kafkajs producer or admin client offers that this wrapper needs. */
interface Client {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
}

interface Generation<C> {
  client: C;
  ready: Promise<void> | undefined;
  inFlight: number;
  retired: boolean;
}

/**
 * A kafkajs client that can be swapped for a fresh one. kafkajs clients remember every topic they touched and
 * refresh metadata for all of them; once one of those topics is deleted, every later refresh fails with
 * UNKNOWN_TOPIC_OR_PARTITION. `renew()` after deleting a topic (or on that error) starts a clean client; the old
 * one disconnects once its in-flight calls are done. Connects lazily, and again after a failed connect.
 */
export class Renewable<C extends Client> {
  readonly #create: () => C;
  #current: Generation<C>;
  #closed = false;

  constructor(create: () => C) {
    this.#create = create;
    this.#current = { client: create(), ready: undefined, inFlight: 0, retired: false };
  }

  async use<T>(call: (client: C) => Promise<T>): Promise<T> {
    const generation = this.#current;
    generation.inFlight++;
    try {
      generation.ready ??= generation.client.connect().catch((err: unknown) => {
        generation.ready = undefined;
        throw err;
      });
      await generation.ready;
      return await call(generation.client);
    } finally {
      generation.inFlight--;
      if (generation.retired && generation.inFlight === 0) void generation.client.disconnect().catch(() => undefined);
    }
  }

  renew(): void {
    if (this.#closed) return;
    const old = this.#current;
    old.retired = true;
    this.#current = { client: this.#create(), ready: undefined, inFlight: 0, retired: false };
    if (old.inFlight === 0) void old.client.disconnect().catch(() => undefined);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#current.retired = true;
    await this.#current.client.disconnect().catch(() => undefined);
  }
}
