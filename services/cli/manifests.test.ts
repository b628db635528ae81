import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliError } from './errors.ts';
import { loadManifests, manifestProblems, parseManifestText } from './manifests.ts';
import { captureIo } from './test-io.ts';

const BROKER = 'apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: default\n';
const TRIGGER =
  'apiVersion: eventing.elastic-serving.dev/v1\nkind: Trigger\nmetadata: { name: t, namespace: demo }\nspec: { broker: default }\n';

describe('parseManifestText', () => {
  it('reads multi-document YAML, skips empty documents and expands Lists', () => {
    const docs = parseManifestText(`${BROKER}---\n---\n${TRIGGER}`, 'a.yaml');
    expect(docs.map((d) => d.origin)).toEqual(['a.yaml #1', 'a.yaml #3']);
    const list = JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [{ kind: 'A' }, { kind: 'B' }] });
    expect(parseManifestText(list, 'l.json').map((d) => d.origin)).toEqual(['l.json #1 item 1', 'l.json #1 item 2']);
  });

  it('names the file, document and line of a YAML syntax error', () => {
    expect(() => parseManifestText(`${BROKER}---\nkind: [unclosed\n`, 'bad.yaml')).toThrow(
      /bad\.yaml #2: invalid YAML \(line \d+/,
    );
  });
});

describe('manifestProblems', () => {
  it('reports every missing required field', () => {
    expect(manifestProblems({ kind: 'Trigger' })).toEqual(['apiVersion: required', 'metadata.name: required']);
    expect(manifestProblems({ apiVersion: 'v2', kind: 'X', metadata: { name: 'x' } })).toEqual([
      'apiVersion: "v2" must be group/version (or v1 for a Secret)',
    ]);
    expect(manifestProblems({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'x' } })).toEqual([]);
    expect(manifestProblems('text')).toEqual(['document must be a mapping, got string']);
    expect(
      manifestProblems(JSON.parse(JSON.stringify({ apiVersion: 'a/b', kind: 'K', metadata: { name: 'n' } }))),
    ).toEqual([]);
  });
});

describe('loadManifests', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'es-cli-'));
    await writeFile(join(dir, '20-trigger.yaml'), TRIGGER);
    await writeFile(join(dir, '10-broker.yml'), BROKER);
    await writeFile(join(dir, 'README.md'), '# not a manifest');
    await writeFile(
      join(dir, '30-fn.json'),
      JSON.stringify({ apiVersion: 'serving.elastic-serving.dev/v1', kind: 'Function', metadata: { name: 'f' } }),
    );
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('reads a directory in sorted order and fills the default namespace only where none is given', async () => {
    const ms = await loadManifests([dir], 'team', captureIo());
    expect(ms.map((m) => `${m.object.kind}/${m.object.metadata.namespace}`)).toEqual([
      'Broker/team',
      'Trigger/demo',
      'Function/team',
    ]);
  });

  it('reads stdin for -', async () => {
    const ms = await loadManifests(['-'], 'default', captureIo({ stdin: BROKER }));
    expect(ms[0]!.origin).toBe('<stdin> #1');
  });

  it('collects the problems of every file before refusing the whole set', async () => {
    const bad = join(dir, 'bad');
    await import('node:fs/promises').then((fs) => fs.mkdir(bad));
    await writeFile(join(bad, 'a.yaml'), 'kind: Broker\n');
    await writeFile(join(bad, 'b.yaml'), `${BROKER}---\nmetadata: {name: x}\n`);
    const err = await loadManifests([bad], 'default', captureIo()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).message).toMatch(/^nothing applied: 4 problems/);
    expect((err as CliError).details).toEqual([
      `${join(bad, 'a.yaml')} #1: apiVersion: required`,
      `${join(bad, 'a.yaml')} #1: metadata.name: required`,
      `${join(bad, 'b.yaml')} #2: apiVersion: required`,
      `${join(bad, 'b.yaml')} #2: kind: required`,
    ]);
  });

  it('is a usage error when a path does not exist', async () => {
    await expect(loadManifests([join(dir, 'nope.yaml')], 'default', captureIo())).rejects.toMatchObject({
      exitCode: 2,
    });
  });
});
