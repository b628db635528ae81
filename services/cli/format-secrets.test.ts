import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { ResourceObject } from './client.ts';
import { describeObject } from './describe.ts';
import { formatObjects, formatTable, REDACTED, redact, secretSizes } from './format.ts';

const NOW = Date.parse('2026-01-01T00:10:00Z');
const VALUES = ['minioadmin', 'pl41n-t0ken', 's3cr3t-v4lue'];

const secret: ResourceObject = {
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 's3-creds', namespace: 'demo', creationTimestamp: '2026-01-01T00:00:00Z', resourceVersion: '7' },
  type: 'Opaque',
  data: {
    AWS_ACCESS_KEY_ID: Buffer.from(VALUES[0]!).toString('base64'),
    AWS_SECRET_ACCESS_KEY: Buffer.from(VALUES[2]!).toString('base64'),
  },
  stringData: { token: VALUES[1]! },
};

function leaks(text: string): string[] {
  const encoded = VALUES.map((v) => Buffer.from(v).toString('base64'));
  return [...VALUES, ...encoded].filter((v) => text.includes(v));
}

describe('Secret output in the CLI', () => {
  it('get -o yaml and -o json show every key of data and stringData, and no value', () => {
    for (const format of ['yaml', 'json'] as const) {
      for (const asList of [false, true]) {
        const text = formatObjects([secret], format, asList);
        expect(leaks(text), `${format} list=${asList}`).toEqual([]);
        const shown = parse(text) as ResourceObject & { items?: ResourceObject[] };
        const one = asList ? shown.items![0]! : shown;
        expect(one.data).toEqual({ AWS_ACCESS_KEY_ID: REDACTED, AWS_SECRET_ACCESS_KEY: REDACTED });
        expect(one.stringData).toEqual({ token: REDACTED });
        expect(one.type).toBe('Opaque');
      }
    }
  });

  it('redact leaves the original untouched and other kinds with data fields alone', () => {
    const copy = redact(secret);
    expect(copy).not.toBe(secret);
    expect(secret.stringData).toEqual({ token: VALUES[1] });
    const configLike: ResourceObject = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'c' },
      data: { a: 'b' },
    };
    expect(redact(configLike)).toBe(configLike);
  });

  it('get -o name prints core kinds without a group', () => {
    expect(formatObjects([secret], 'name', true)).toBe('secret/s3-creds\n');
  });

  it('the table shows TYPE and the number of keys, no READY column, no values', () => {
    const table = formatTable('Secret', [secret], { now: NOW });
    expect(table).toBe('NAME       TYPE     DATA   AGE\ns3-creds   Opaque   3      10m\n');
    expect(leaks(table)).toEqual([]);
  });

  it('describe shows the type and each key with its size in bytes, never a value', () => {
    const text = describeObject(secret, NOW);
    expect(leaks(text)).toEqual([]);
    expect(text).toContain('Type:         Opaque\n');
    expect(text).toContain(
      'Data:\n  AWS_ACCESS_KEY_ID:  10 bytes\n  AWS_SECRET_ACCESS_KEY:  12 bytes\n  token:  11 bytes\n',
    );
    expect(text).not.toMatch(/Conditions|Address|StringData/);
  });

  it('sizes count decoded bytes, stringData replacing a data key of the same name', () => {
    const both: ResourceObject = { ...secret, data: { a: 'YWJj' }, stringData: { a: 'abcdef' } };
    expect(secretSizes(both)).toEqual([['a', 6]]);
    expect(describeObject({ ...secret, data: undefined, stringData: undefined }, NOW)).toContain(
      'Data:         <none>',
    );
  });
});

describe('credentials written inline in a spec', () => {
  it('are redacted in -o yaml, while env and secretKeyRef references stay visible', () => {
    const source = {
      apiVersion: 'sources.elastic-serving.dev/v1',
      kind: 'StorageSource',
      metadata: { name: 's', namespace: 'default' },
      spec: {
        s3: {
          bucket: 'b',
          credentials: { accessKeyId: 'AKIAPLAIN', secretAccessKey: { secretKeyRef: { name: 'k', key: 'secret' } } },
        },
        webhook: { token: 'plain-token' },
        sink: { uri: 'http://x' },
      },
    };
    const yaml = formatObjects([source as never], 'yaml', false);
    expect(yaml).not.toContain('AKIAPLAIN');
    expect(yaml).not.toContain('plain-token');
    expect(yaml).toContain('secretKeyRef');
    expect(yaml).toContain('bucket: b');
  });
});
