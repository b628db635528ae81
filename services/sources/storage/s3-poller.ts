import { HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { Logger } from 'pino';
import { abortableSleep } from '../../core/delivery/index.ts';
import { bareEtag, contentTypeOf } from './events.ts';
import { type ObjectLedger, type ObjectState, versionId } from './ledger.ts';
import type { S3Location } from './s3-client.ts';
import type { ObjectChange, SourceHealth } from './types.ts';

/** Options of {@link S3Poller}. */
export interface S3PollerOptions {
  client: S3Client;
  location: S3Location;
  /** Wait between the end of one poll and the start of the next. */
  intervalMs: number;
  /** The source's checkpoint: keys and etags announced so far. */
  ledger: ObjectLedger;
  /** On a first start (fresh ledger), announce the objects already there; otherwise only record them. */
  announceExisting: boolean;
  /** Delivers one change; `true` once the sink accepted it. */
  emit(change: ObjectChange): Promise<boolean>;
  logger: Logger;
  /** Called when {@link S3Poller.health} changes. @defaultValue none */
  onHealthChange?: () => void;
}

/** What one poll did. */
export interface PollResult {
  created: number;
  deleted: number;
  /** Changes the sink refused; they are announced again by the next poll. */
  undelivered: number;
}

interface Listed {
  etag: string;
  size: number;
  lastModified: Date | undefined;
}

/**
 * Polls a bucket with ListObjectsV2 and announces the difference with its checkpoint: `created` for a new key or
 * a changed ETag, `deleted` for a checkpointed key no longer listed. Each change is recorded only after the sink
 * accepted it, so a restart (or a sink outage) neither loses nor repeats announcements; the first refused change
 * ends the poll and the next poll takes it up again, in the same order. The content type comes from a
 * HeadObject of each created key (the listing has none).
 */
export class S3Poller {
  readonly #o: S3PollerOptions;
  readonly #stop = new AbortController();
  #loop: Promise<void> | undefined;
  #polling: Promise<PollResult> | undefined;
  #polledOnce = false;
  #health: SourceHealth;

  constructor(options: S3PollerOptions) {
    this.#o = options;
    this.#health = { ready: true, reason: 'Polling', message: `polling ${describe(options.location)}` };
  }

  health(): SourceHealth {
    return this.#health;
  }

  /** One cheap listing, so a wrong endpoint, bucket or credentials show on the status before polling starts. */
  async probe(): Promise<void> {
    const { bucket, prefix } = this.#o.location;
    await this.#o.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix || undefined, MaxKeys: 1 }), {
      abortSignal: this.#stop.signal,
    });
  }

  /** Polls now and then every `intervalMs` until stopped. */
  start(): void {
    this.#loop ??= (async () => {
      while (!this.#stop.signal.aborted) {
        await this.poll().catch(() => {});
        await abortableSleep(this.#o.intervalMs, this.#stop.signal);
      }
    })();
  }

  /** Runs one poll (or joins the one running). Rejects when the listing failed (health shows why). */
  poll(): Promise<PollResult> {
    this.#polling ??= this.#pollOnce().finally(() => {
      this.#polling = undefined;
    });
    return this.#polling;
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    await Promise.allSettled([this.#loop, this.#polling]);
  }

  async #pollOnce(): Promise<PollResult> {
    const { ledger, logger } = this.#o;
    let listed: Map<string, Listed>;
    try {
      listed = await this.#list();
    } catch (err) {
      if (!this.#stop.signal.aborted) {
        const message = `listing ${describe(this.#o.location)} failed: ${errorText(err)}`;
        logger.warn({ bucket: this.#o.location.bucket, err: errorText(err) }, 'storage poll failed');
        this.#setHealth({ ready: false, reason: 'ListFailed', message });
      }
      throw err;
    }
    this.#setHealth({ ready: true, reason: 'Polling', message: `polling ${describe(this.#o.location)}` });
    const result: PollResult = { created: 0, deleted: 0, undelivered: 0 };
    const silent = ledger.fresh && !this.#o.announceExisting && !this.#polledOnce;
    this.#polledOnce = true;
    try {
      for (const key of ledger.keys().sort()) {
        if (listed.has(key)) continue;
        const known = ledger.get(key)!;
        const { size, etag } = known;
        const change: ObjectChange = { kind: 'deleted', ...this.#where(key), size, etag, originId: versionId(known) };
        if (!(await this.#announce(change, undefined))) return { ...result, undelivered: result.undelivered + 1 };
        result.deleted++;
      }
      for (const [key, obj] of [...listed].sort(([a], [b]) => (a < b ? -1 : 1))) {
        if (ledger.get(key)?.etag === obj.etag) continue;
        const state: ObjectState = { etag: obj.etag, size: obj.size, mtimeMs: obj.lastModified?.getTime() };
        if (silent) {
          await ledger.record(key, state);
          continue;
        }
        const contentType = await this.#contentType(key);
        if (contentType === null) continue; // deleted since the listing; the next poll sees it gone
        const time = obj.lastModified?.toISOString();
        const { etag, size } = state;
        const change: ObjectChange = {
          kind: 'created',
          ...this.#where(key),
          size,
          etag,
          contentType,
          time,
          originId: versionId(state),
        };
        if (!(await this.#announce(change, state))) return { ...result, undelivered: result.undelivered + 1 };
        result.created++;
      }
      return result;
    } finally {
      await ledger.compact(silent);
    }
  }

  #where(key: string): { bucket: string; key: string } {
    return { bucket: this.#o.location.bucket, key };
  }

  async #announce(change: ObjectChange, state: ObjectState | undefined): Promise<boolean> {
    if (this.#stop.signal.aborted || !(await this.#o.emit(change))) return false;
    await this.#o.ledger.record(change.key, state);
    return true;
  }

  async #list(): Promise<Map<string, Listed>> {
    const { client, location } = this.#o;
    const out = new Map<string, Listed>();
    let token: string | undefined;
    do {
      const page = await client.send(
        new ListObjectsV2Command({
          Bucket: location.bucket,
          Prefix: location.prefix || undefined,
          ContinuationToken: token,
        }),
        { abortSignal: this.#stop.signal },
      );
      for (const obj of page.Contents ?? []) {
        if (obj.Key === undefined) continue;
        out.set(obj.Key, { etag: bareEtag(obj.ETag) ?? '', size: obj.Size ?? 0, lastModified: obj.LastModified });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  /** The object's Content-Type; `null` when it no longer exists; a guess from the name when HEAD fails otherwise. */
  async #contentType(key: string): Promise<string | null> {
    try {
      const head = await this.#o.client.send(new HeadObjectCommand({ Bucket: this.#o.location.bucket, Key: key }), {
        abortSignal: this.#stop.signal,
      });
      return head.ContentType ?? contentTypeOf(key);
    } catch (err) {
      const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      return status === 404 ? null : contentTypeOf(key);
    }
  }

  #setHealth(health: SourceHealth): void {
    const changed = health.ready !== this.#health.ready || health.message !== this.#health.message;
    this.#health = health;
    if (changed) this.#o.onHealthChange?.();
  }
}

function describe(location: S3Location): string {
  const where = `s3://${location.bucket}/${location.prefix}`;
  return location.endpoint ? `${where} at ${location.endpoint}` : where;
}

/** An SDK error as one line: its name and message (never the request, which carries signatures). */
export function errorText(err: unknown): string {
  if (err instanceof Error) {
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    return `${err.name}: ${err.message}${status ? ` (HTTP ${status})` : ''}`;
  }
  return String(err);
}
