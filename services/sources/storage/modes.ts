import { basename, resolve } from 'node:path';
import type { Logger } from 'pino';
import { parseDurationMs } from '../../core/delivery/index.ts';
import { ElasticServingError } from '../../core/errors.ts';
import { DirectoryWatch } from './directory.ts';
import { ObjectLedger } from './ledger.ts';
import { createS3Client, s3Location } from './s3-client.ts';
import { errorText, S3Poller } from './s3-poller.ts';
import type { ObjectChange, ResolvedCredentials, SourceHealth, StorageSourceSpec } from './types.ts';
import type { WebhookEndpoint } from './webhook/server.ts';

/** A source that cannot run as specified; `reason` goes on its Ready condition. */
export class StorageSourceNotReadyError extends ElasticServingError {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super('ES_ERR_NOT_READY', message);
  }
}

const DEFAULT_STABILITY = 'PT0.3S';
const DEFAULT_POLL_INTERVAL = 'PT5S';

/** Everything a mode needs to start one source. */
export interface ModeContext {
  /** `<namespace>/<name>`. */
  key: string;
  namespace: string;
  name: string;
  spec: StorageSourceSpec;
  credentials: ResolvedCredentials;
  /** Delivers one change with the source's policy; `true` once the sink accepted it. */
  emit(change: ObjectChange): Promise<boolean>;
  logger: Logger;
  announceExisting: boolean;
  /** Tells the runner's listeners that the source's health changed. */
  notify(): void;
  /** Where the source's checkpoint lives. */
  ledgerPath: string;
  cwd: string;
  env: Readonly<Record<string, string | undefined>> | undefined;
  directoryRetryMs: number | undefined;
}

/** A started source, whatever its mode. */
export interface RunningMode {
  health(): SourceHealth;
  /** Stops it and flushes its checkpoint (deliveries are aborted by the runner first). */
  close(): Promise<void>;
  ledgerPath?: string;
  webhookPath?: string;
  endpoint?: WebhookEndpoint;
}

export async function startDirectoryMode(ctx: ModeContext): Promise<RunningMode> {
  const d = ctx.spec.directory!;
  const dir = resolve(ctx.cwd, d.path);
  const ledger = await ObjectLedger.open(ctx.ledgerPath, `dir:${dir}`);
  try {
    const watch = await DirectoryWatch.start({
      dir,
      bucket: d.bucket ?? basename(dir),
      stabilityMs: parseDurationMs(d.stabilityWindow ?? DEFAULT_STABILITY, 'spec.directory.stabilityWindow'),
      ledger,
      announceExisting: ctx.announceExisting,
      emit: ctx.emit,
      logger: ctx.logger,
      retryMs: ctx.directoryRetryMs,
      onHealthChange: ctx.notify,
    });
    const close = async () => {
      await watch.stop();
      await ledger.compact(true);
      await ledger.close();
    };
    return { ledgerPath: ctx.ledgerPath, health: () => watch.health(), close };
  } catch (err) {
    await ledger.close();
    throw new StorageSourceNotReadyError('WatchFailed', `cannot watch ${dir}: ${(err as Error).message}`);
  }
}

/** Starts polling once a first listing succeeded, so wrong endpoints, buckets or keys show on the status. */
export async function startS3Mode(ctx: ModeContext): Promise<RunningMode> {
  const s3 = ctx.spec.s3!;
  const location = s3Location(s3, ctx.env);
  const client = createS3Client(location, ctx.credentials.s3);
  const ledger = await ObjectLedger.open(
    ctx.ledgerPath,
    `s3:${location.endpoint ?? 'aws'}/${location.bucket}/${location.prefix}`,
  );
  const poller = new S3Poller({
    client,
    location,
    intervalMs: parseDurationMs(s3.pollInterval ?? DEFAULT_POLL_INTERVAL, 'spec.s3.pollInterval'),
    ledger,
    announceExisting: ctx.announceExisting,
    emit: ctx.emit,
    logger: ctx.logger,
    onHealthChange: ctx.notify,
  });
  const close = async () => {
    await poller.stop();
    client.destroy();
    await ledger.compact(true);
    await ledger.close();
  };
  try {
    await poller.probe();
  } catch (err) {
    await close();
    throw new StorageSourceNotReadyError('BucketUnreachable', `listing s3://${location.bucket}: ${errorText(err)}`);
  }
  poller.start();
  return { ledgerPath: ctx.ledgerPath, health: () => poller.health(), close };
}

/**
 * A webhook endpoint at `spec.webhook.path` (default `/{namespace}/{name}`) of the server at `base`.
 * `servedFor(path)` names another source already served at a path.
 */
export function startWebhookMode(
  ctx: ModeContext,
  base: string | undefined,
  servedFor: (path: string) => string | undefined,
): RunningMode {
  const webhook = ctx.spec.webhook!;
  const path = webhook.path ?? `/${ctx.namespace}/${ctx.name}`;
  if (base === undefined) {
    throw new StorageSourceNotReadyError('WebhookServerDisabled', 'this process serves no storage webhooks');
  }
  const other = servedFor(path);
  if (other !== undefined) {
    throw new StorageSourceNotReadyError('PathConflict', `webhook path ${path} is already served for ${other}`);
  }
  const endpoint: WebhookEndpoint = {
    source: ctx.key,
    ...(ctx.credentials.webhookToken === undefined ? {} : { token: ctx.credentials.webhookToken }),
    keyEncoding: webhook.keyEncoding ?? 'auto',
    deliver: async (changes) => {
      for (let i = 0; i < changes.length; i++) if (!(await ctx.emit(changes[i]!))) return changes.length - i;
      return 0;
    },
  };
  const health: SourceHealth = { ready: true, reason: 'Listening', message: `notifications at ${base}${path}` };
  return { webhookPath: path, endpoint, health: () => health, close: async () => {} };
}
