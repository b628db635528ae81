import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildControlApi } from '../controller/api.ts';
import { MemoryResourceStore } from '../controller/memory-store.ts';
import { RemoteResourceStore } from '../controller/remote-store.ts';
import { resolveSecretKey } from '../controller/secrets.ts';
import { runCli } from './main.ts';
import { captureIo } from './test-io.ts';

// Secrets end to end: YAML applied by the CLI, served at /api/v1 like Kubernetes, read back redacted by the CLI
// and in clear by a reconciler in another process (RemoteResourceStore), which is why the API does not redact.
const SECRET = `apiVersion: v1
kind: Secret
metadata: { name: s3-creds }
type: Opaque
data:
  AWS_ACCESS_KEY_ID: ${Buffer.from('AKIA-visible-nowhere').toString('base64')}
stringData:
  AWS_SECRET_ACCESS_KEY: plain-secret-value
`;

describe('Secret through the control API and the CLI', () => {
  let app: FastifyInstance;
  let url: string;
  let dir: string;
  const cli = async (...args: string[]) => {
    const io = captureIo({ env: { ES_SERVER: url, ES_TOKEN: 'tok' }, cwd: dir });
    const code = await runCli(args, io);
    return { code, out: io.stdoutText, err: io.stderrText };
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'es-cli-secret-'));
    await writeFile(join(dir, 'secret.yaml'), SECRET);
    await writeFile(join(dir, 'bad.yaml'), SECRET.replace(/AWS_ACCESS_KEY_ID: \S+/, 'AWS_ACCESS_KEY_ID: "QUtJQ%%"'));
    app = buildControlApi({ store: new MemoryResourceStore(), token: 'tok' });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await app.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('applies, gets and describes a Secret without printing a value', async () => {
    expect(await cli('apply', '-f', 'secret.yaml')).toMatchObject({ code: 0, out: 'secret/s3-creds created\n' });
    const yaml = await cli('get', 'secret', 's3-creds', '-o', 'yaml');
    expect(yaml.code).toBe(0);
    expect(yaml.out).not.toMatch(/AKIA|QUtJQ|plain-secret-value/);
    expect(parse(yaml.out)).toMatchObject({
      apiVersion: 'v1',
      kind: 'Secret',
      data: { AWS_ACCESS_KEY_ID: '***REDACTED***' },
      stringData: { AWS_SECRET_ACCESS_KEY: '***REDACTED***' },
    });
    const json = await cli('get', 'secrets', '-o', 'json');
    expect(json.out).not.toMatch(/AKIA|QUtJQ|plain-secret-value/);
    const table = await cli('get', 'secrets');
    expect(table.out).toMatch(/^NAME\s+TYPE\s+DATA\s+AGE\ns3-creds\s+Opaque\s+2\s+\d+s\n$/);
    const described = await cli('describe', 'secret', 's3-creds');
    expect(described.out).toContain('  AWS_ACCESS_KEY_ID:  20 bytes\n');
    expect(described.out).not.toMatch(/AKIA|QUtJQ|plain-secret-value/);
    expect((await cli('get', 'all')).out).not.toContain('s3-creds');
  });

  it('refuses a data value that is not base64, naming the key only', async () => {
    const bad = await cli('apply', '-f', 'bad.yaml');
    expect(bad.code).not.toBe(0);
    expect(bad.err).toContain('data["AWS_ACCESS_KEY_ID"]: must be base64');
    expect(bad.err).not.toContain('QUtJQ');
  });

  it('serves core discovery at /api, keeps the core group out of /apis, and resolves keys over HTTP', async () => {
    const api = await fetch(`${url}/api`, { headers: { authorization: 'Bearer tok' } });
    expect(await api.json()).toMatchObject({ kind: 'APIVersions', versions: ['v1'] });
    const v1 = await (await fetch(`${url}/api/v1`, { headers: { authorization: 'Bearer tok' } })).json();
    expect(v1.resources[0]).toMatchObject({ name: 'secrets', kind: 'Secret', namespaced: true });
    const groups = await (await fetch(`${url}/apis`, { headers: { authorization: 'Bearer tok' } })).json();
    expect(groups.groups.map((g: { name: string }) => g.name)).not.toContain('');
    const remote = new RemoteResourceStore({ server: url, token: 'tok' });
    expect(await resolveSecretKey(remote, 'default', { name: 's3-creds', key: 'AWS_ACCESS_KEY_ID' })).toBe(
      'AKIA-visible-nowhere',
    );
    expect(await resolveSecretKey(remote, 'default', { name: 's3-creds', key: 'AWS_SECRET_ACCESS_KEY' })).toBe(
      'plain-secret-value',
    );
  });
});
