import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { ElasticServingError } from '../core/errors.ts';
import { ceHeaders, writeFixtureHandler } from './test-fixtures.ts';
import { transpileHandler } from './transpile.ts';

describe('transpileHandler', () => {
  it('bundles a .ts handler importing elastic-serving/sdk into one .mjs that plain node runs', async () => {
    const { dir, handler } = writeFixtureHandler();
    const built = await transpileHandler({ handler: 'handler.ts', baseDir: dir, namespace: 'ns1', name: 'fx' });
    expect(built.cached).toBe(false);
    expect(built.file).toBe(join(dir, '.elastic-serving/functions/ns1/fx', `${built.hash}.mjs`));
    const source = readFileSync(built.file, 'utf8');
    expect(source).not.toMatch(/from ["']elastic-serving\/sdk["']/);
    expect(handler).toBeTruthy();

    const child = spawn(process.execPath, [built.file], {
      cwd: dir,
      env: { PATH: process.env.PATH, PORT: '0', ES_FUNCTION_NAME: 'fx', GREETING: 'hi' },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    try {
      const [msg] = (await once(child, 'message')) as [{ type: string; port: number }];
      expect(msg.type).toBe('es:listening');
      const cmdline = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
      expect(cmdline).toEqual([process.execPath, built.file]);
      expect(cmdline.join(' ')).not.toMatch(/tsx|loader|--import|--require/);
      const res = await request(`http://127.0.0.1:${msg.port}/`, {
        method: 'POST',
        headers: ceHeaders('t1'),
        body: '{}',
      });
      expect(res.statusCode).toBe(200);
      expect(res.headers['ce-type']).toBe('dev.test.fixture.reply');
      expect(await res.body.json()).toMatchObject({ env: 'hi', hello: 'hello fx', pid: child.pid });
    } finally {
      child.kill('SIGTERM');
      const [code] = await once(child, 'exit');
      expect(code).toBe(0);
    }
  });

  it('reuses the output while nothing changed and rebuilds when an imported file changes', async () => {
    const { dir, helper } = writeFixtureHandler();
    const opts = { handler: 'handler.ts', baseDir: dir, namespace: 'default', name: 'fx' };
    const first = await transpileHandler(opts);
    const second = await transpileHandler(opts);
    expect(second).toMatchObject({ cached: true, file: first.file, hash: first.hash });
    writeFileSync(helper, `export const greeting = (who: string): string => 'hey ' + who;\n`);
    const third = await transpileHandler(opts);
    expect(third.cached).toBe(false);
    expect(third.hash).not.toBe(first.hash);
    expect(readFileSync(third.file, 'utf8')).toMatch(/["']hey ["']/);
  });

  it('refuses a handler that does not build, naming the file and reason', async () => {
    const { dir } = writeFixtureHandler();
    writeFileSync(join(dir, 'broken.ts'), `import { nope } from './missing.ts';\nexport default nope;\n`);
    const err = await transpileHandler({ handler: 'broken.ts', baseDir: dir, namespace: 'default', name: 'bad' }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ElasticServingError);
    expect((err as ElasticServingError).code).toBe('ES_ERR_INVALID_RESOURCE');
    expect((err as Error).message).toMatch(/broken\.ts.*missing\.ts/);
    const missing = await transpileHandler({
      handler: 'nope.ts',
      baseDir: dir,
      namespace: 'default',
      name: 'bad',
    }).catch((e: unknown) => e);
    expect((missing as Error).message).toMatch(/spec\.handler: file not found/);
  });

  it('builds the echo example', async () => {
    const { dir } = writeFixtureHandler();
    const built = await transpileHandler({
      handler: join(import.meta.dirname, '../../functions/examples/echo/index.ts'),
      baseDir: dir,
      namespace: 'default',
      name: 'echo',
    });
    expect(readFileSync(built.file, 'utf8')).toContain('dev.elasticserving.echo.reply');
  });
});
