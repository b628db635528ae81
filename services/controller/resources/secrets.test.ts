import { describe, expect, it } from 'vitest';
import { kindForApiVersion, kindInfo } from './kinds.ts';
import { parseManifests } from './parse.ts';
import { isSecret, SECRET_MAX_BYTES, secretIssues, secretKeySelector } from './secrets.ts';
import { checkResource, validateResource } from './validate.ts';

const YAML = `
apiVersion: v1
kind: Secret
metadata:
  name: s3-creds
  namespace: demo
type: Opaque
data:
  AWS_ACCESS_KEY_ID: bWluaW9hZG1pbg==
stringData:
  AWS_SECRET_ACCESS_KEY: not-so-secret
`;

describe('Secret kind', () => {
  it('is core v1, found by kind, plural and singular', () => {
    expect(kindForApiVersion('v1', 'Secret')?.plural).toBe('secrets');
    expect(kindInfo('secrets')?.kind).toBe('Secret');
    expect(kindInfo('secret')?.preferredApiVersion).toBe('v1');
  });

  it('validates a kubectl-shaped Secret with no spec', () => {
    const [doc] = parseManifests(YAML) as Record<string, unknown>[];
    expect(validateResource(doc)).toBe(doc);
    expect(isSecret(doc!)).toBe(true);
    expect(secretIssues(doc!)).toEqual([]);
  });

  it('refuses a spec', () => {
    const { issues } = checkResource({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'a' }, spec: {} });
    expect(issues).toEqual([{ path: 'spec', message: 'a Secret has no spec: put values under data or stringData' }]);
  });
});

describe('secretIssues', () => {
  const base = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'a' } };

  it('names a data value that is not base64 by its key, without quoting it', () => {
    const issues = secretIssues({ ...base, data: { password: 'hunter2!' } });
    expect(issues).toEqual([{ path: 'data["password"]', message: 'must be base64' }]);
    expect(JSON.stringify(issues)).not.toContain('hunter2');
  });

  it('checks key names, value types, type, immutable and unknown fields', () => {
    expect(
      secretIssues({ ...base, data: { 'bad key': 'YQ==' }, stringData: { n: 1 }, type: 3, immutable: 'yes', extra: 1 }),
    ).toEqual([
      { path: 'extra', message: 'unknown field' },
      { path: 'type', message: 'must be a string' },
      { path: 'immutable', message: 'must be a boolean' },
      { path: 'data["bad key"]', message: 'must consist of alphanumerics, "-", "_" or "."' },
      { path: 'stringData["n"]', message: 'must be a string' },
    ]);
    expect(secretIssues({ ...base, data: ['x'] })).toEqual([
      { path: 'data', message: 'must be an object of key → string' },
    ]);
  });

  it('enforces the 1 MiB total', () => {
    const big = 'x'.repeat(SECRET_MAX_BYTES / 2 + 1);
    expect(secretIssues({ ...base, stringData: { a: big, b: big } })[0]?.message).toMatch(/at most 1048576 bytes/);
    expect(secretIssues({ ...base, stringData: { a: big } })).toEqual([]);
  });
});

describe('secretKeySelector', () => {
  it('accepts {name, key, optional} and names what is wrong', () => {
    expect(secretKeySelector('strict').safeParse({ name: 's3-creds', key: 'AWS_ACCESS_KEY_ID' }).success).toBe(true);
    expect(secretKeySelector('strict').safeParse({ name: 's3-creds', key: 'a', optional: true }).success).toBe(true);
    expect(secretKeySelector('strict').safeParse({ name: 'Bad_Name', key: 'a' }).success).toBe(false);
    expect(secretKeySelector('strict').safeParse({ name: 'a', key: 'a/b' }).success).toBe(false);
    expect(secretKeySelector('strict').safeParse({ name: 'a', key: 'a', extra: 1 }).success).toBe(false);
    expect(secretKeySelector('loose').safeParse({ name: 'a', key: 'a', extra: 1 }).success).toBe(true);
  });
});
