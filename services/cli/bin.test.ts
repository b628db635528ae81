import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../../bin/elastic-serving.mjs', import.meta.url));

describe('bin/elastic-serving.mjs', () => {
  it('runs the TypeScript CLI with plain node and prints help', async () => {
    const { stdout } = await run(process.execPath, [BIN, '--help'], { timeout: 20_000 });
    expect(stdout).toContain('Usage: elastic-serving [options] [command]');
    for (const cmd of ['up', 'apply', 'get', 'describe', 'delete', 'send', 'version'])
      expect(stdout).toMatch(new RegExp(`\\n  ${cmd} `));
  });

  it('exits 2 on a usage error', async () => {
    const err = await run(process.execPath, [BIN, 'get'], { timeout: 20_000 }).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(err).toMatchObject({ code: 2 });
    expect((err as { stderr: string }).stderr).toContain("missing required argument 'kind'");
  });
});
