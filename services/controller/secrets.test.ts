import { describe, expect, it } from 'vitest';
import { NotFoundError } from './errors.ts';
import { MemoryResourceStore } from './memory-store.ts';
import {
  REDACTED_VALUE,
  redactSecret,
  resolveOptionalSecretKey,
  resolveSecretKey,
  SecretKeyError,
  secretLookup,
  secretValues,
} from './secrets.ts';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

async function storeWith(...secrets: Record<string, unknown>[]): Promise<MemoryResourceStore> {
  const store = new MemoryResourceStore();
  for (const s of secrets) await store.apply(s);
  return store;
}

function secret(name: string, fields: Record<string, unknown>, namespace = 'default'): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace }, type: 'Opaque', ...fields };
}

describe('resolveSecretKey', () => {
  it('decodes data values and reads stringData, stringData winning over data as on the API server', async () => {
    const store = await storeWith(
      secret('s3-creds', {
        data: { accessKeyId: b64('AKIA-local'), region: b64('eu-west-1'), 'utf8.key': b64('pässwörd ✓') },
        stringData: { region: 'us-east-1', token: 'plain-token' },
      }),
    );
    expect(await resolveSecretKey(store, 'default', { name: 's3-creds', key: 'accessKeyId' })).toBe('AKIA-local');
    expect(await resolveSecretKey(store, 'default', { name: 's3-creds', key: 'region' })).toBe('us-east-1');
    expect(await resolveSecretKey(store, 'default', { name: 's3-creds', key: 'token' })).toBe('plain-token');
    expect(await resolveSecretKey(store, 'default', { name: 's3-creds', key: 'utf8.key' })).toBe('pässwörd ✓');
  });

  it('looks in the namespace it is given only', async () => {
    const store = await storeWith(secret('creds', { stringData: { k: 'in-team-a' } }, 'team-a'));
    expect(await resolveSecretKey(store, 'team-a', { name: 'creds', key: 'k' })).toBe('in-team-a');
    await expect(resolveSecretKey(store, 'default', { name: 'creds', key: 'k' })).rejects.toThrow(NotFoundError);
  });

  it('names the Secret when it is missing', async () => {
    const store = await storeWith();
    const err = await resolveSecretKey(store, 'ns1', { name: 'nope', key: 'k' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as Error).message).toBe('Secret ns1/nope not found');
  });

  it('names the missing key and the keys there are, never a value', async () => {
    const store = await storeWith(secret('creds', { data: { b: b64('value-b') }, stringData: { a: 'value-a' } }));
    const err = await resolveSecretKey(store, 'default', { name: 'creds', key: 'secretKey' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SecretKeyError);
    expect((err as SecretKeyError).problem).toBe('missing');
    expect((err as Error).message).toBe('Secret default/creds has no key "secretKey" (keys: a, b)');
    expect((err as Error).message).not.toMatch(/value-/);
    const empty = await storeWith(secret('empty', {}));
    await expect(resolveSecretKey(empty, 'default', { name: 'empty', key: 'k' })).rejects.toThrow('(keys: none)');
  });

  it('optional selectors resolve to undefined when the Secret or key is missing, not when a value is broken', async () => {
    const store = await storeWith(secret('creds', { stringData: { a: '1' } }));
    expect(await resolveOptionalSecretKey(store, 'default', { name: 'gone', key: 'a', optional: true })).toBe(
      undefined,
    );
    expect(await resolveOptionalSecretKey(store, 'default', { name: 'creds', key: 'b', optional: true })).toBe(
      undefined,
    );
    expect(await resolveOptionalSecretKey(store, 'default', { name: 'creds', key: 'a', optional: true })).toBe('1');
    await expect(resolveOptionalSecretKey(store, 'default', { name: 'creds', key: 'b' })).rejects.toThrow(
      SecretKeyError,
    );
  });
});

describe('secretValues', () => {
  it('refuses a data value that is not base64, naming the key only', () => {
    const broken = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'x' }, data: { bad: '!?', good: b64('ok') } };
    expect(() => secretValues(broken)).toThrow('Secret default/x: data["bad"] is not valid base64');
    expect(() => secretValues(broken)).not.toThrow('!?');
    try {
      secretValues(broken);
    } catch (err) {
      expect((err as SecretKeyError).problem).toBe('malformed');
    }
  });
});

describe('secretLookup', () => {
  it('reads a key through the store, undefined when the Secret or key is missing', async () => {
    const store = await storeWith(secret('creds', { stringData: { token: 'from-secret' } }));
    const lookup = secretLookup(store);
    expect(await lookup('default', { name: 'creds', key: 'token' })).toBe('from-secret');
    expect(await lookup('default', { name: 'creds', key: 'other' })).toBe(undefined);
    expect(await lookup('default', { name: 'gone', key: 'token' })).toBe(undefined);
  });
});

describe('redactSecret', () => {
  it('hides every data and stringData value and keeps the keys', () => {
    const s = secret('creds', { data: { a: b64('x') }, stringData: { b: 'y' } });
    expect(redactSecret(s)).toEqual({ ...s, data: { a: REDACTED_VALUE }, stringData: { b: REDACTED_VALUE } });
    expect(s.data).toEqual({ a: b64('x') });
    const fn = { kind: 'Function', data: { a: 'kept' } };
    expect(redactSecret(fn)).toBe(fn);
  });
});
