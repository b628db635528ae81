import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from '../../test/support/free-port.ts';

const run = promisify(execFile);
const services = fileURLToPath(new URL('../../deploy/local/services.sh', import.meta.url));

/**
 * A redis-server of our own (started by deploy/local/services.sh in a temporary directory, on a free port) that a
 * test may stop and start; the shared server is never touched. Like the shared one it keeps nothing on disk.
 */
export class PrivateRedis {
  readonly url: string;
  readonly #env: NodeJS.ProcessEnv;
  readonly #dir: string;

  private constructor(dir: string, port: number) {
    this.#dir = dir;
    this.url = `redis://127.0.0.1:${port}`;
    this.#env = { ...process.env, ES_SERVICES_DIR: dir, ES_REDIS_PORT: String(port) };
  }

  static async start(): Promise<PrivateRedis> {
    const server = new PrivateRedis(await mkdtemp(join(tmpdir(), 'es-redis-')), await freePort());
    await server.up();
    return server;
  }

  async up(): Promise<void> {
    await run(services, ['up', 'redis'], { env: this.#env });
  }

  async down(): Promise<void> {
    await run(services, ['down', 'redis'], { env: this.#env });
  }

  /** Stops the server and removes its directory. */
  async remove(): Promise<void> {
    await this.down().catch(() => undefined);
    await rm(this.#dir, { recursive: true, force: true });
  }
}
