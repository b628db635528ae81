import { describe, expect, it } from 'vitest';
import { makeEvent } from '../cloudevent.ts';
import {
  deadLetterExtensions,
  encodeErrorData,
  KNATIVE_ERROR_DATA_MAX_LENGTH,
  withDeadLetterExtensions,
} from './dead-letter.ts';
import type { DeliveryOutcome } from './executor.ts';

const failedWith = (status: number, body: string | Buffer): DeliveryOutcome => ({
  ok: false,
  attempts: 3,
  lastStatus: status,
  result: { status, headers: {}, body: Buffer.isBuffer(body) ? body : Buffer.from(body) },
});

describe('deadLetterExtensions', () => {
  it('names the destination, the last status and the base64 body', () => {
    expect(
      deadLetterExtensions('http://127.0.0.1:8081/default/echo', failedWith(422, '{"error":"bad input"}')),
    ).toEqual({
      knativeerrordest: 'http://127.0.0.1:8081/default/echo',
      knativeerrorcode: '422',
      knativeerrordata: Buffer.from('{"error":"bad input"}').toString('base64'),
    });
  });

  it('cuts the base64 text (not the body) to 1024 characters, which still decodes', () => {
    const body = Buffer.alloc(5000);
    for (let i = 0; i < body.length; i++) body[i] = (i * 7) % 256;
    const data = deadLetterExtensions('http://x/', failedWith(500, body)).knativeerrordata!;
    expect(KNATIVE_ERROR_DATA_MAX_LENGTH).toBe(1024);
    expect(data).toHaveLength(1024);
    expect(data).toBe(body.toString('base64').slice(0, 1024));
    expect(Buffer.from(data, 'base64')).toEqual(body.subarray(0, 768));
  });

  it('keeps short bodies whole, with padding', () => {
    expect(encodeErrorData(Buffer.from('ab'))).toBe('YWI=');
    const body = Buffer.alloc(767, 1);
    expect(encodeErrorData(body)).toBe(body.toString('base64'));
  });

  it('records a network error or timeout as code 500 with "dispatch error: …" data, as Knative does', () => {
    const outcome: DeliveryOutcome = {
      ok: false,
      attempts: 4,
      lastError: new Error('connect ECONNREFUSED 127.0.0.1:1'),
    };
    const ext = deadLetterExtensions('http://127.0.0.1:1/', outcome);
    expect(ext.knativeerrorcode).toBe('500');
    expect(Buffer.from(ext.knativeerrordata!, 'base64').toString()).toBe(
      'dispatch error: connect ECONNREFUSED 127.0.0.1:1',
    );
  });

  it('omits knativeerrordata for an empty body', () => {
    expect(deadLetterExtensions('http://x/', failedWith(400, ''))).toEqual({
      knativeerrordest: 'http://x/',
      knativeerrorcode: '400',
    });
  });
});

describe('withDeadLetterExtensions', () => {
  it('adds the extensions to a copy of the original event, keeping its data', () => {
    const event = makeEvent({ id: '1', source: '/s', type: 't', datacontenttype: 'text/plain' }, Buffer.from('hi'));
    const dead = withDeadLetterExtensions(event, 'http://sub/', failedWith(503, 'down'));
    expect(dead.attributes).toMatchObject({ id: '1', knativeerrorcode: '503', knativeerrordest: 'http://sub/' });
    expect(dead.data?.toString()).toBe('hi');
    expect(event.attributes.knativeerrorcode).toBeUndefined();
  });
});
