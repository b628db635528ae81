import { BackendUnavailableError } from '../../services/core/errors.ts';
import type { ChannelHealth } from '../contract.ts';

export interface MonitorOptions {
  /** One cheap request to the cluster; resolves when it answered. */
  probe: () => Promise<void>;
  initialDelayMs: number;
  maxDelayMs: number;
  checkIntervalMs: number;
  /** Called whenever `connected` flips. */
  onChange?: (health: ChannelHealth) => void;
}

/**
 * The connection state of the log. kafkajs reconnects its own sockets; this only tracks whether the cluster answers:
 * operations report success (`up`) and failures (`down`), and a probe runs every `checkIntervalMs` while connected
 * and with exponential backoff while not, so an outage shows in `health()` even when nothing flows.
 */
export class ConnectionMonitor {
  #health: ChannelHealth = { connected: false, reason: 'connecting', since: new Date() };
  readonly #options: MonitorOptions;
  #timer: NodeJS.Timeout | undefined;
  #delay: number;
  #probing = false;
  #closed = false;
  #nextProbeAt = 0;
  #lastProbeAt = 0;
  #waiters = new Set<() => void>();

  constructor(options: MonitorOptions) {
    this.#options = options;
    this.#delay = options.initialDelayMs;
  }

  get connected(): boolean {
    return this.#health.connected;
  }

  health(): ChannelHealth {
    return this.#health;
  }

  start(): void {
    this.#schedule(0);
  }

  /** An operation succeeded: the cluster answers. */
  up(): void {
    this.#delay = this.#options.initialDelayMs;
    if (this.#health.connected) return;
    this.#health = { connected: true, since: new Date() };
    for (const wake of this.#waiters) wake();
    this.#waiters.clear();
    this.#options.onChange?.(this.#health);
    this.#schedule(this.#options.checkIntervalMs);
  }

  /** An operation failed in a way that says the cluster does not answer; probing takes over. */
  down(reason: string): void {
    if (this.#closed) return;
    if (this.#health.connected) {
      this.#health = { connected: false, reason, since: new Date() };
      this.#options.onChange?.(this.#health);
      this.#schedule(this.#options.initialDelayMs);
    } else if (this.#health.reason !== reason) {
      this.#health = { connected: false, reason, since: this.#health.since };
    }
  }

  /**
   * Resolves at once when connected, else when the connection comes back; rejects with `BackendUnavailableError`
   * at `deadline` (epoch ms).
   */
  waitUp(deadline: number, what: string): Promise<void> {
    if (this.#health.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(
        () => {
          this.#waiters.delete(wake);
          reject(this.unavailable(what));
        },
        Math.max(0, deadline - Date.now()),
      );
      this.#waiters.add(wake);
      // Someone is waiting: probe soon (at most every 250 ms) rather than at the end of a long backoff.
      const soon = Math.max(0, this.#lastProbeAt + 250 - Date.now());
      if (!this.#probing && this.#nextProbeAt - Date.now() > soon) this.#schedule(soon);
    });
  }

  unavailable(what: string, cause?: unknown): BackendUnavailableError {
    const reason = this.#health.connected ? 'no answer in time' : (this.#health.reason ?? 'disconnected');
    return new BackendUnavailableError(`kafka unavailable: ${what} (${reason})`, { cause, retryAfterSeconds: 1 });
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }

  #schedule(delay: number): void {
    if (this.#closed) return;
    clearTimeout(this.#timer);
    this.#nextProbeAt = Date.now() + delay;
    this.#timer = setTimeout(() => void this.#probe(), delay);
    this.#timer.unref();
  }

  async #probe(): Promise<void> {
    if (this.#probing || this.#closed) return;
    this.#probing = true;
    this.#lastProbeAt = Date.now();
    try {
      await this.#options.probe();
      this.#probing = false;
      if (this.#health.connected) this.#schedule(this.#options.checkIntervalMs);
      else this.up();
    } catch (err) {
      this.#probing = false;
      this.down(describe(err));
      this.#schedule(this.#delay);
      this.#delay = Math.min(this.#delay * 2, this.#options.maxDelayMs);
    }
  }
}

export function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as { cause?: unknown }).cause;
  return cause instanceof Error && cause.message !== err.message ? `${err.message}: ${cause.message}` : err.message;
}
