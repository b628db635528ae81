import type { Connection } from './connection.ts';
import { replyCode } from './connection.ts';

/**
 * Acknowledges entries as their handlers finish: the IDs completed within one turn of the event loop go out as one
 * XACK (auto-pipelined with everything else on the shared connection). An XACK lost to a dropped connection is
 * sent again once the connection is back, so a blip does not turn finished work into redeliveries.
 */
export class Acker {
  readonly #connection: Connection;
  readonly #key: string;
  readonly #group: string;
  readonly #onAcked: (ids: readonly string[]) => void;
  #pending: string[] = [];
  #scheduled = false;
  #inFlight = 0;
  #onDrained: (() => void) | undefined;
  #closed = false;

  constructor(connection: Connection, key: string, group: string, onAcked: (ids: readonly string[]) => void) {
    this.#connection = connection;
    this.#key = key;
    this.#group = group;
    this.#onAcked = onAcked;
  }

  add(id: string): void {
    this.#pending.push(id);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(this.#flush);
  }

  /** Sends what is queued and waits (at most `timeoutMs`) until every XACK got its answer; then stops retrying. */
  async drain(timeoutMs: number): Promise<void> {
    if (this.#pending.length > 0 && this.#connection.ready) this.#flush();
    if (this.#inFlight > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, timeoutMs);
        const self = this;
        function done(): void {
          clearTimeout(timer);
          self.#onDrained = undefined;
          resolve();
        }
        this.#onDrained = done;
      });
    }
    this.#closed = true;
  }

  #flush = (): void => {
    this.#scheduled = false;
    if (this.#pending.length === 0 || this.#closed) return;
    const ids = this.#pending;
    this.#pending = [];
    if (!this.#connection.ready) {
      this.#retryLater(ids);
      return;
    }
    this.#inFlight++;
    this.#connection.client.xack(this.#key, this.#group, ...ids).then(
      () => this.#done(ids),
      (err: unknown) => {
        // NOGROUP: the group (or stream) is gone, so there is nothing left to acknowledge.
        if (replyCode(err) === 'NOGROUP') this.#done(ids);
        else {
          this.#settled();
          this.#retryLater(ids);
        }
      },
    );
  };

  #done(ids: readonly string[]): void {
    this.#onAcked(ids);
    this.#settled();
  }

  #settled(): void {
    if (--this.#inFlight === 0) this.#onDrained?.();
  }

  #retryLater(ids: string[]): void {
    if (this.#closed) return;
    for (const id of ids) this.#pending.push(id);
    void this.#connection.whenReady(1000).then(() => {
      if (this.#scheduled) return;
      this.#scheduled = true;
      setImmediate(this.#flush);
    });
  }
}
