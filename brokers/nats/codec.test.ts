import { headers } from 'nats';
import { describe, expect, it } from 'vitest';
import { InvalidEventError } from '../../services/core/errors.ts';
import { decodeEvent, dedupId, encodeEvent, parseAckSubject, readHeaderBlock } from './codec.ts';
import { durableName, escapeName, topicNames } from './names.ts';

describe('nats codec', () => {
  it('round-trips attributes through ce- headers, percent-encoding what NATS headers cannot carry', () => {
    const attributes = {
      specversion: '1.0',
      id: ' padded id ',
      source: '/s?q="x"',
      type: 't',
      datacontenttype: 'text/plain; charset=utf-8',
      exttext: 'héllo ✓ 100%',
      extnumber: 3,
      extbool: false,
    };
    const { headers: h, payload } = encodeEvent({ attributes, data: Buffer.from('body') }, true);
    const header = new Map(readHeaderBlock(h));
    expect(header.get('ce-id')).toBe('%20padded%20id%20');
    expect(header.get('ce-source')).toBe('/s?q=%22x%22');
    expect(header.get('Nats-Msg-Id')).toBe('/s?q=%22x%22 %20padded%20id%20');
    expect(Buffer.from(h).toString('latin1')).toMatch(/^NATS\/1\.0\r\n(.+: .+\r\n)+\r\n$/);
    const back = decodeEvent(h, payload);
    expect(back.attributes).toEqual({ ...attributes, extnumber: '3', extbool: 'false' });
    expect(back.data?.toString()).toBe('body');
  });

  it('refuses an attribute name a header could not carry', () => {
    const bad = { attributes: { specversion: '1.0', id: '1', source: '/s', type: 't', 'x y': 'v' } };
    expect(() => encodeEvent(bad, false)).toThrow(InvalidEventError);
  });

  it('keeps dedup keys of different source/id pairs apart', () => {
    expect(dedupId('a b', 'c')).not.toBe(dedupId('a', 'b c'));
    const { headers: h } = encodeEvent({ attributes: { specversion: '1.0', id: '1', source: '/s', type: 't' } }, false);
    expect(new Map(readHeaderBlock(h)).has('Nats-Msg-Id')).toBe(false);
  });

  it('reads structured mode when there are no ce- headers, and refuses other messages', () => {
    const h = headers();
    h.set('Content-Type', 'application/cloudevents+json');
    const body = Buffer.from(JSON.stringify({ specversion: '1.0', id: '1', source: '/s', type: 't', data: 'x' }));
    expect(decodeEvent(h, body).attributes.id).toBe('1');
    expect(() => decodeEvent(undefined, Buffer.from('hello'))).toThrow(InvalidEventError);
    const partial = headers();
    partial.set('ce-id', '1');
    expect(() => decodeEvent(partial, new Uint8Array())).toThrow(/missing attribute/);
  });

  it('parses both forms of JetStream ack subjects', () => {
    expect(parseAckSubject('$JS.ACK.S.C.3.42.40.1700000000000000000.7')).toEqual({ streamSeq: '42', delivered: 3 });
    expect(parseAckSubject('$JS.ACK.dom.hash.S.C.1.9.9.1700000000000000000.0.tok')).toEqual({
      streamSeq: '9',
      delivered: 1,
    });
    expect(parseAckSubject('_INBOX.x')).toBeUndefined();
  });
});

describe('nats names', () => {
  it('escapes everything but A-Z a-z 0-9 - injectively', () => {
    expect(escapeName('default.my-broker')).toBe('default_2Emy-broker');
    expect(escapeName('a_b')).toBe('a_5Fb');
    expect(escapeName('a.b')).not.toBe(escapeName('a_b'));
    expect(escapeName('é')).toBe('_C3_A9');
    expect(topicNames('es', 'ns.b')).toEqual({ stream: 'es_ns_2Eb', subject: 'es.events.ns_2Eb' });
    expect(durableName('es', 'trigger/one')).toBe('es_trigger_2Fone');
  });

  it('keeps long names under 200 characters and still unique', () => {
    const a = durableName('es', 'x'.repeat(300));
    const b = durableName('es', `${'x'.repeat(299)}y`);
    expect(a.length).toBeLessThanOrEqual(200);
    expect(a).not.toBe(b);
  });
});
