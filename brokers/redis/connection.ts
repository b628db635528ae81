import { Redis } from 'ioredis';
import { BackendFullError, BackendUnavailableError, ElasticServingError } from '../../services/core/errors.ts';
import type { ChannelHealth } from '../contract.ts';
import type { ResolvedRedisOptions } from './options.ts';

/**
 * One ioredis connection plus what the adapter needs around it: its health, and a bounded wait for it to be ready.
 *
 * Every connection is created with `enableOfflineQueue: false`, `maxRetriesPerRequest: 0` and no resend on
 * reconnect: ioredis would otherwise queue commands while Redis is away and resend unanswered ones afterwards, so an
 * append could hang for as long as Redis is down, or be stored twice without the caller knowing. Instead a command
 * issued while disconnected fails at once (the adapter waits for `ready` first, bounded by `unavailableTimeoutMs`),
 * and a command in flight when the connection drops fails with the drop.
 */
export class Connection {
  readonly client: Redis;
  #health: ChannelHealth = { connected: false, reason: 'connecting', since: new Date() };
  readonly #waiters = new Set<(ready: boolean) => void>();
  #ended = false;

  constructor(options: ResolvedRedisOptions, name: string, role: 'commands' | 'blocking') {
    const commands = role === 'commands';
    this.client = new Redis(options.url, {
      protocol: 2,
      connectionName: name,
      disableClientInfo: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      // Commands issued in one tick (acks of many subscriptions, claims, batches) share one socket write.
      enableAutoPipelining: commands,
      // Appends (scripts) are batched per turn already; auto-pipelining them too only added a pipeline object per
      // batch (measured at 5,000 events/s: ingress p99 16 → 7 ms, a little less CPU).
      autoPipeliningIgnoredCommands: ['evalsha', 'eval'],
      // A blocking read legitimately waits `blockMs`; only the shared connection gets a reply deadline.
      commandTimeout: commands ? options.commandTimeoutMs : undefined,
      retryStrategy: (attempt) =>
        Math.min(options.reconnectMaxMs, options.reconnectMinMs * 2 ** Math.min(attempt - 1, 16)),
    });
    let lastError: string | undefined;
    this.client.on('ready', () => {
      lastError = undefined;
      this.#set(true, undefined);
    });
    this.client.on('error', (err: Error) => {
      lastError = err.message;
      if (!this.#health.connected) this.#set(false, lastError);
    });
    this.client.on('close', () => this.#set(false, lastError ?? 'connection closed'));
    this.client.on('end', () => {
      this.#ended = true;
      this.#set(false, lastError ?? 'connection ended');
    });
  }

  get ready(): boolean {
    return this.client.status === 'ready';
  }

  health(): ChannelHealth {
    return this.#health;
  }

  /** Resolves true once the connection is ready, false after `timeoutMs` or when it will never be again. */
  whenReady(timeoutMs: number): Promise<boolean> {
    if (this.client.status === 'ready') return Promise.resolve(true);
    if (this.#ended) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(false), timeoutMs);
      const waiters = this.#waiters;
      function done(ready: boolean): void {
        clearTimeout(timer);
        waiters.delete(done);
        resolve(ready);
      }
      waiters.add(done);
    });
  }

  /** Closes for good: QUIT when connected (replies to commands in flight still arrive), else disconnect. */
  async end(): Promise<void> {
    this.#ended = true;
    if (this.client.status === 'ready') {
      await this.client.quit().catch(() => this.client.disconnect());
    } else {
      this.client.disconnect();
    }
    for (const wake of [...this.#waiters]) wake(false);
  }

  #set(connected: boolean, reason: string | undefined): void {
    if (connected !== this.#health.connected || reason !== this.#health.reason) {
      this.#health =
        reason === undefined
          ? { connected, since: connected !== this.#health.connected ? new Date() : this.#health.since }
          : { connected, reason, since: connected !== this.#health.connected ? new Date() : this.#health.since };
    }
    if (connected || this.#ended) for (const wake of [...this.#waiters]) wake(connected);
  }
}

/** The error a command failed with, as the contract's typed error (OOM → full, anything else → unavailable). */
export function backendError(err: unknown, what: string): ElasticServingError {
  if (err instanceof ElasticServingError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (message.startsWith('OOM ')) return new BackendFullError(`redis refused ${what}: ${message}`);
  return new BackendUnavailableError(`redis could not ${what}: ${message}`, { cause: err });
}

/** Whether a command failed before it was written (so retrying it cannot store anything twice). */
export function notSent(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith("Stream isn't writeable");
}

/** The Redis error code (`NOGROUP`, `BUSYGROUP`, `NOSCRIPT`, ...) of a reply error, if any. */
export function replyCode(err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined;
  const space = err.message.indexOf(' ');
  const code = space === -1 ? err.message : err.message.slice(0, space);
  return /^[A-Z]+$/.test(code) ? code : undefined;
}
