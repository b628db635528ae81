import { connect, Events, type JetStreamManager, type NatsConnection } from 'nats';
import { BackendUnavailableError } from '../../services/core/errors.ts';
import type { ChannelHealth } from '../contract.ts';
import type { ResolvedNatsOptions } from './options.ts';
import { JetStreamPublisher } from './publisher.ts';

/** The clients of one live NATS connection. */
export interface Clients {
  nc: NatsConnection;
  publisher: JetStreamPublisher;
  jsm: JetStreamManager;
}

export type ConnectionChange = 'up' | 'down';

/**
 * One NATS connection for the whole log, kept alive in the background.
 *
 * The first connection is dialled by our own loop (so `close()` can stop it while the server is still away);
 * after that nats.js reconnects by itself forever, with a delay growing with the time spent disconnected
 * (`reconnectMinDelayMs` → `reconnectMaxDelayMs`). Should the client still close on its own (a terminal server
 * error), the dial loop starts over.
 */
export class Connection {
  readonly #options: ResolvedNatsOptions;
  #clients: Clients | undefined;
  #connected = false;
  #health: ChannelHealth;
  #downSince = Date.now();
  #closed = false;
  #dialTimer: NodeJS.Timeout | undefined;
  #downTimer: NodeJS.Timeout | undefined;
  /** Callers of `ready()` waiting for the connection. */
  readonly #waiters = new Set<() => void>();
  /** Operations in progress, failed together when the connection stays down too long. */
  readonly #pending = new Set<(err: Error) => void>();
  readonly #listeners = new Set<(change: ConnectionChange) => void>();

  constructor(options: ResolvedNatsOptions) {
    this.#options = options;
    this.#health = { connected: false, reason: `connecting to ${options.servers.join(', ')}`, since: new Date() };
    this.#dial(0);
  }

  health(): ChannelHealth {
    return this.#health;
  }

  /** The live clients, or undefined while disconnected. */
  get clients(): Clients | undefined {
    return this.#connected ? this.#clients : undefined;
  }

  /** Calls `listener` on every change of connectivity; returns the unsubscribe function. */
  onChange(listener: (change: ConnectionChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Runs `op` on the live clients: waits up to `unavailableTimeoutMs` for a connection, and rejects with
   * `BackendUnavailableError` if the connection is lost for that long while `op` is pending. `op`'s own outcome
   * after that is ignored.
   */
  run<T>(what: string, op: (clients: Clients) => Promise<T>): Promise<T> {
    const clients = this.clients;
    if (clients !== undefined) return this.guard(op(clients));
    return this.#ready(what).then((ready) => this.guard(op(ready)));
  }

  /** `pending`, but rejected with `BackendUnavailableError` if the connection is lost for `unavailableTimeoutMs`. */
  guard<T>(pending: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#pending.add(reject);
      pending.then(
        (value) => {
          this.#pending.delete(reject);
          resolve(value);
        },
        (err: unknown) => {
          this.#pending.delete(reject);
          reject(err);
        },
      );
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#dialTimer);
    clearTimeout(this.#downTimer);
    const wasUp = this.#connected;
    this.#setState(false, 'closed');
    this.#failPending(new BackendUnavailableError('nats channel: closed'));
    for (const wake of [...this.#waiters]) wake();
    const nc = this.#clients?.nc;
    this.#clients = undefined;
    if (nc === undefined) return;
    // Acks and NAKs of the last handlers are still in the client's buffer: let them out (briefly) first.
    if (wasUp) await Promise.race([nc.flush().catch(() => undefined), delay(500)]);
    await nc.close().catch(() => undefined);
  }

  #ready(what: string): Promise<Clients> {
    if (this.#closed) return Promise.reject(new BackendUnavailableError(`${what}: the nats channel is closed`));
    const timeoutMs = this.#options.unavailableTimeoutMs;
    return new Promise<Clients>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(wake);
        reject(
          new BackendUnavailableError(
            `${what}: not connected to NATS at ${this.#options.servers.join(', ')} within ${timeoutMs} ms ` +
              `(${this.#health.reason ?? 'disconnected'})`,
          ),
        );
      }, timeoutMs);
      const wake = () => {
        clearTimeout(timer);
        this.#waiters.delete(wake);
        const clients = this.clients;
        if (clients !== undefined) resolve(clients);
        else reject(new BackendUnavailableError(`${what}: the nats channel is closed`));
      };
      this.#waiters.add(wake);
    });
  }

  #reconnectDelay(): number {
    const { reconnectMinDelayMs: min, reconnectMaxDelayMs: max } = this.#options;
    return Math.min(max, Math.max(min, (Date.now() - this.#downSince) / 2));
  }

  #dial(delayMs: number): void {
    if (this.#closed) return;
    this.#dialTimer = setTimeout(() => {
      connect({
        name: 'elastic-serving',
        timeout: this.#options.requestTimeoutMs,
        // A stack captured for every request (to decorate a possible timeout) was a quarter of append's CPU.
        noAsyncTraces: true,
        ...this.#options.connection,
        servers: this.#options.servers,
        maxReconnectAttempts: -1,
        reconnectDelayHandler: () => this.#reconnectDelay(),
      })
        .then(async (nc) => {
          // No account-info round trip: JetStream may still be starting, and each call reports its own failure.
          const jsm = await nc.jetstreamManager({ timeout: this.#options.requestTimeoutMs, checkAPI: false });
          this.#attach(nc, jsm);
        })
        .then(undefined, (err: unknown) => {
          this.#setState(false, `cannot connect: ${(err as Error).message ?? String(err)}`);
          this.#dial(this.#reconnectDelay());
        });
    }, delayMs);
  }

  #attach(nc: NatsConnection, jsm: JetStreamManager): void {
    if (this.#closed) {
      void nc.close();
      return;
    }
    this.#clients = { nc, publisher: new JetStreamPublisher(nc, this.#options.requestTimeoutMs), jsm };
    this.#setState(true, undefined);
    void this.#watch(nc);
    nc.closed().then(() => {
      if (this.#closed || this.#clients?.nc !== nc) return;
      this.#clients = undefined;
      this.#setState(false, 'the NATS client closed; dialling again');
      this.#dial(this.#reconnectDelay());
    });
  }

  async #watch(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (status.type === Events.Disconnect) this.#setState(false, `disconnected from ${String(status.data)}`);
      else if (status.type === Events.Reconnect) this.#setState(true, undefined);
      else if (status.type === Events.Error && !this.#connected) this.#setState(false, String(status.data));
    }
  }

  #setState(connected: boolean, reason: string | undefined): void {
    if (connected === this.#connected) {
      if (!connected && reason !== undefined) this.#health = { ...this.#health, reason };
      return;
    }
    this.#connected = connected;
    this.#health = reason === undefined ? { connected, since: new Date() } : { connected, reason, since: new Date() };
    if (connected) {
      clearTimeout(this.#downTimer);
      this.#downTimer = undefined;
      for (const wake of [...this.#waiters]) wake();
    } else {
      this.#downSince = Date.now();
      if (!this.#closed) this.#armDownTimer();
    }
    for (const listener of this.#listeners) listener(connected ? 'up' : 'down');
  }

  #armDownTimer(): void {
    clearTimeout(this.#downTimer);
    const timeoutMs = this.#options.unavailableTimeoutMs;
    this.#downTimer = setTimeout(() => {
      this.#downTimer = undefined;
      if (this.#connected) return;
      this.#failPending(
        new BackendUnavailableError(`nats channel: connection lost for ${timeoutMs} ms (${this.#health.reason})`),
      );
    }, timeoutMs);
  }

  #failPending(err: Error): void {
    const pending = [...this.#pending];
    this.#pending.clear();
    for (const fail of pending) fail(err);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
