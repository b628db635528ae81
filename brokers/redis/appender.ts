import type { CloudEvent } from '../../services/core/cloudevent.ts';
import type { BackendUnavailableError } from '../../services/core/errors.ts';
import { pushFields } from './codec.ts';
import { backendError, type Connection, notSent } from './connection.ts';
import type { ResolvedRedisOptions } from './options.ts';
import { LuaScript } from './scripts.ts';

/** A batch is sent at once when it reaches either bound, else at the end of the current event-loop turn. */
const MAX_BATCH_EVENTS = 256;
const MAX_BATCH_BYTES = 4 * 1024 * 1024;

/**
 * XADD of every event in ARGV, in order: ARGV[1..2] = trim strategy (`MAXLEN`, `MINID` or empty) and threshold,
 * then per event its field count followed by its fields. The shebang makes Redis refuse the whole script up front
 * when it is out of memory, so a batch is stored completely or not at all (scripts run atomically; the only
 * mid-script failure left would be an argument error, which these arguments cannot cause).
 */
const APPEND = `#!lua
local key, strategy, threshold = KEYS[1], ARGV[1], ARGV[2]
local i, stored = 3, 0
while i <= #ARGV do
  local n = tonumber(ARGV[i])
  if strategy == '' then
    redis.call('XADD', key, '*', unpack(ARGV, i + 1, i + n))
  else
    redis.call('XADD', key, strategy, '~', threshold, '*', unpack(ARGV, i + 1, i + n))
  end
  stored = stored + 1
  i = i + n + 1
end
return stored
`;
const appendScript = new LuaScript(APPEND);

interface Batch {
  readonly key: string;
  /** Trim strategy and threshold, then per event: field count and fields. */
  readonly args: (string | Buffer | number)[];
  events: number;
  bytes: number;
  readonly waiters: { resolve: () => void; reject: (err: unknown) => void }[];
}

/**
 * Coalesces the appends made to one stream within one turn of the event loop (the ingress calls `append` once per
 * HTTP request, ~256 at a time) into one batch, stored by one EVALSHA of the script above (`appendWith: 'script'`:
 * measured, about half the client CPU per event of one ioredis XADD per event, at ~3x the Redis CPU) or by one
 * MULTI/EXEC of XADDs (`appendWith: 'xadd'`; a lone event is a plain auto-pipelined XADD). Each caller resolves
 * once its batch is stored; a failed batch rejects all of its callers.
 */
export class Appender {
  readonly #shared: Connection;
  readonly #options: ResolvedRedisOptions;
  readonly #unavailable: () => BackendUnavailableError;
  readonly #open = new Map<string, Batch>();

  constructor(shared: Connection, options: ResolvedRedisOptions, unavailable: () => BackendUnavailableError) {
    this.#shared = shared;
    this.#options = options;
    this.#unavailable = unavailable;
  }

  append(key: string, events: readonly CloudEvent[]): Promise<void> {
    let batch = this.#open.get(key);
    if (batch === undefined) {
      // The first two arguments are the trim strategy and threshold, filled in when the batch is sent.
      batch = { key, args: ['', ''], events: 0, bytes: 0, waiters: [] };
      this.#open.set(key, batch);
      const scheduled = batch;
      setImmediate(() => this.#close(scheduled));
    }
    const args = batch.args;
    for (const event of events) {
      const at = args.length;
      args.push(0);
      pushFields(event, args);
      args[at] = args.length - at - 1;
      batch.bytes += event.data === undefined ? 256 : event.data.length + 256;
    }
    batch.events += events.length;
    const promise = new Promise<void>((resolve, reject) => batch.waiters.push({ resolve, reject }));
    if (batch.events >= MAX_BATCH_EVENTS || batch.bytes >= MAX_BATCH_BYTES) this.#close(batch);
    return promise;
  }

  /** Takes `batch` out of the open ones and sends it (once). */
  #close(batch: Batch): void {
    if (this.#open.get(batch.key) !== batch) return;
    this.#open.delete(batch.key);
    if (this.#shared.ready) this.#send(batch, true);
    else void this.#sendWhenReady(batch);
  }

  #send(batch: Batch, retry: boolean): void {
    const { maxEntries, maxAgeMs } = this.#options;
    if (maxEntries !== null) {
      batch.args[0] = 'MAXLEN';
      batch.args[1] = maxEntries;
    } else if (maxAgeMs !== null) {
      batch.args[0] = 'MINID';
      batch.args[1] = Date.now() - maxAgeMs;
    }
    const stored = this.#options.appendWith === 'script' ? this.#viaScript(batch) : this.#viaXadd(batch);
    stored.then(
      () => {
        for (const waiter of batch.waiters) waiter.resolve();
      },
      (err: unknown) => {
        // Never written (the connection dropped just now): safe to wait for it and send once more.
        if (retry && notSent(err)) {
          void this.#sendWhenReady(batch);
          return;
        }
        const error = backendError(err, 'append');
        for (const waiter of batch.waiters) waiter.reject(error);
      },
    );
  }

  #viaScript(batch: Batch): Promise<unknown> {
    return appendScript.run(this.#shared.client, batch.key, batch.args);
  }

  /** One XADD per event: alone when the batch has one event, else in MULTI/EXEC (all or nothing). */
  #viaXadd(batch: Batch): Promise<unknown> {
    const args = batch.args;
    const trim = args[0] === '' ? [] : [args[0]!, '~', args[1]!];
    const client = this.#shared.client;
    const fields = (at: number) => args.slice(at + 1, at + 1 + (args[at] as number));
    if (batch.events === 1) return client.xadd(batch.key, ...trim, '*', ...fields(2));
    const transaction = client.multi();
    for (let at = 2; at < args.length; at += (args[at] as number) + 1) {
      transaction.xadd(batch.key, ...trim, '*', ...fields(at));
    }
    return transaction.exec().then(
      (results) => {
        const failed = results?.find(([err]) => err !== null)?.[0];
        if (results === null || failed) throw failed ?? new Error('transaction discarded');
      },
      (err: Error & { previousErrors?: Error[] }) => {
        // EXECABORT: a queued command was refused (OOM is checked while queueing); report why.
        throw err.previousErrors?.[0] ?? err;
      },
    );
  }

  async #sendWhenReady(batch: Batch): Promise<void> {
    if (await this.#shared.whenReady(this.#options.unavailableTimeoutMs)) {
      this.#send(batch, false);
      return;
    }
    const error = this.#unavailable();
    for (const waiter of batch.waiters) waiter.reject(error);
  }
}
