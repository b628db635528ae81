import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './free-port.ts';
import type { S3Endpoint } from './s3.ts';

const SCRIPT = join(import.meta.dirname, '..', '..', 'deploy', 'local', 'services.sh');
const run = promisify(execFile);

/** Options of `startPrivateS3`. */
export interface PrivateS3Options {
  /**
   * Every bucket event (object created/removed) is POSTed there as S3 `Records[]` JSON. The server sends a test
   * event at start and refuses to start if nothing answers, so start the receiver first.
   * @defaultValue no notifications
   */
  webhookUrl?: string;
}

/** An S3-compatible server of a test's own: own port, own data directory, own random root keys. */
export interface PrivateS3 extends S3Endpoint {
  port: number;
  /** Stops it and removes its data. */
  destroy(): Promise<void>;
}

/**
 * Starts a private S3-compatible server through deploy/local/services.sh (`up s3` with a temporary
 * ES_SERVICES_DIR); the binary the shared server was built into is reused, so this takes about a second.
 */
export async function startPrivateS3(options: PrivateS3Options = {}): Promise<PrivateS3> {
  const dir = mkdtempSync(join(tmpdir(), 'es-s3-'));
  const port = await freePort();
  const accessKeyId = `test-${randomBytes(4).toString('hex')}`;
  const secretAccessKey = randomBytes(16).toString('hex');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ES_SERVICES_DIR: dir,
    ES_S3_PORT: String(port),
    ES_S3_ACCESS_KEY: accessKeyId,
    ES_S3_SECRET_KEY: secretAccessKey,
    ES_S3_EVENT_WEBHOOK_URL: options.webhookUrl ?? '',
  };
  const script = (verb: 'up' | 'down') => run(SCRIPT, [verb, 's3'], { env, timeout: 600_000 });
  try {
    await script('up');
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    accessKeyId,
    secretAccessKey,
    region: 'us-east-1',
    destroy: async () => {
      await script('down').catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
