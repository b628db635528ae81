import { HTTP, CloudEvent as SdkEvent } from 'cloudevents';
import { describe, expect, it } from 'vitest';
import { claimsCloudEvent, encodeBinary, encodeStructured, parseHttpEvent, parseHttpEvents } from './codec.ts';

const base = { 'ce-specversion': '1.0', 'ce-id': '1', 'ce-source': '/me', 'ce-type': 't' };
const reason = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  return 'no error';
};

describe('binary mode', () => {
  it('reads ce- headers, Content-Type and the body bytes', () => {
    const e = parseHttpEvent({ ...base, 'ce-myext': 'x', 'content-type': 'application/json' }, Buffer.from('{"a":1}'));
    expect(e.attributes).toEqual({
      specversion: '1.0',
      id: '1',
      source: '/me',
      type: 't',
      myext: 'x',
      datacontenttype: 'application/json',
    });
    expect(e.data?.toString()).toBe('{"a":1}');
  });
  it('percent-decodes values to UTF-8 and encodes them back', () => {
    const e = parseHttpEvent({ ...base, 'ce-subject': 'caf%C3%A9 %22x%22 100%25' }, undefined);
    expect(e.attributes.subject).toBe('café "x" 100%');
    expect(encodeBinary(e).headers['ce-subject']).toBe('caf%C3%A9%20%22x%22%20100%25');
  });
  it('accepts raw UTF-8 bytes (seen by Node as latin1) and rejects invalid UTF-8', () => {
    expect(
      parseHttpEvent({ ...base, 'ce-subject': Buffer.from('é').toString('latin1') }, undefined).attributes.subject,
    ).toBe('é');
    expect(reason(() => parseHttpEvent({ ...base, 'ce-subject': '\xff\xfe' }, undefined))).toMatch(/not valid UTF-8/);
    expect(reason(() => parseHttpEvent({ ...base, 'ce-subject': '%C3%28' }, undefined))).toMatch(/percent-encoding/);
    expect(reason(() => parseHttpEvent({ ...base, 'ce-subject': '%zz' }, undefined))).toMatch(/percent-encoding/);
  });
  it('rejects ce-datacontenttype, bad specversion, missing attributes, bad names and bad time', () => {
    expect(reason(() => parseHttpEvent({ ...base, 'ce-datacontenttype': 'a/b' }, undefined))).toMatch(/Content-Type/);
    expect(reason(() => parseHttpEvent({ ...base, 'ce-specversion': '0.3' }, undefined))).toMatch(/specversion/);
    expect(reason(() => parseHttpEvent({ 'ce-specversion': '1.0', 'ce-id': '1', 'ce-type': 't' }, undefined))).toMatch(
      /source/,
    );
    expect(reason(() => parseHttpEvent({ ...base, 'ce-bad_name': 'x' }, undefined))).toMatch(/attribute name/);
    expect(reason(() => parseHttpEvent({ ...base, 'ce-time': 'yesterday' }, undefined))).toMatch(/RFC 3339/);
    expect(reason(() => parseHttpEvent({ ...base, 'ce-id': '' }, undefined))).toMatch(/non-empty/);
    expect(reason(() => parseHttpEvent({ 'content-type': 'application/json' }, Buffer.from('{}')))).toMatch(
      /not a CloudEvent/,
    );
  });
  it('reads what the cloudevents SDK emits in binary and structured mode', () => {
    const sdk = new SdkEvent({ id: 'x1', source: '/sdk', type: 'sdk.t', subject: 'subj', data: { n: 1 }, myext: 'v' });
    for (const msg of [HTTP.binary(sdk), HTTP.structured(sdk)]) {
      const e = parseHttpEvent(msg.headers as Record<string, string>, Buffer.from(msg.body as string));
      expect(e.attributes).toMatchObject({ id: 'x1', source: '/sdk', type: 'sdk.t', subject: 'subj', myext: 'v' });
      expect(JSON.parse(e.data!.toString())).toEqual({ n: 1 });
    }
  });
});

describe('structured and batched mode', () => {
  const ct = { 'content-type': 'application/cloudevents+json; charset=utf-8' };
  it('reads data, data_base64 and typed extensions', () => {
    const e = parseHttpEvent(
      ct,
      Buffer.from(
        JSON.stringify({ specversion: '1.0', id: '1', source: 's', type: 't', n: 5, b: true, data: { x: 1 } }),
      ),
    );
    expect(e.attributes).toMatchObject({ n: 5, b: true });
    expect(e.data?.toString()).toBe('{"x":1}');
    const bin = parseHttpEvent(
      ct,
      Buffer.from(JSON.stringify({ specversion: '1.0', id: '1', source: 's', type: 't', data_base64: 'AAEC' })),
    );
    expect([...bin.data!]).toEqual([0, 1, 2]);
  });
  it('keeps text data as bytes and round-trips through encodeStructured', () => {
    const e = parseHttpEvent(
      ct,
      Buffer.from(
        JSON.stringify({
          specversion: '1.0',
          id: '1',
          source: 's',
          type: 't',
          datacontenttype: 'text/plain',
          data: 'hi',
        }),
      ),
    );
    expect(e.data?.toString()).toBe('hi');
    const again = encodeStructured(e);
    expect(parseHttpEvent(again.headers, again.body)).toEqual(e);
  });
  it('rejects broken JSON, invalid UTF-8, data with data_base64 and objects as attributes', () => {
    expect(reason(() => parseHttpEvent(ct, Buffer.from('{"id":')))).toMatch(/not valid JSON/);
    expect(reason(() => parseHttpEvent(ct, Buffer.from([0x7b, 0xff, 0x7d])))).toMatch(/UTF-8/);
    const both = { specversion: '1.0', id: '1', source: 's', type: 't', data: 1, data_base64: 'AA==' };
    expect(reason(() => parseHttpEvent(ct, Buffer.from(JSON.stringify(both))))).toMatch(/mutually exclusive/);
    const obj = { specversion: '1.0', id: '1', source: 's', type: 't', ext: {} };
    expect(reason(() => parseHttpEvent(ct, Buffer.from(JSON.stringify(obj))))).toMatch(/string, integer or boolean/);
  });
  it('reads a batch and names the bad member', () => {
    const batch = { 'content-type': 'application/cloudevents-batch+json' };
    const ok = { specversion: '1.0', id: '1', source: 's', type: 't' };
    expect(parseHttpEvents(batch, Buffer.from(JSON.stringify([ok, { ...ok, id: '2' }])))).toHaveLength(2);
    expect(reason(() => parseHttpEvents(batch, Buffer.from(JSON.stringify([ok, { ...ok, type: undefined }]))))).toMatch(
      /batch\[1\].*type/,
    );
    expect(reason(() => parseHttpEvents(batch, Buffer.from('{}')))).toMatch(/array/);
  });
  it('knows what claims to be a CloudEvent', () => {
    expect(claimsCloudEvent({ 'ce-specversion': '1.0' })).toBe(true);
    expect(claimsCloudEvent({ 'content-type': 'application/cloudevents+json' })).toBe(true);
    expect(claimsCloudEvent({ 'content-type': 'application/json' })).toBe(false);
  });
});
