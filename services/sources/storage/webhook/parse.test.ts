import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { makeEvent } from '../../../core/cloudevent.ts';
import { encodeBinary, encodeStructured } from '../../../core/http/codec.ts';
import { awsRecord, gcsObjectData, minioPayload } from './fixtures.ts';
import { parseNotification } from './parse.ts';
import { decodeS3Key } from './records.ts';

const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const JSON_HEADERS = { 'content-type': 'application/json' };

describe('parseNotification: S3/MinIO Records[]', () => {
  it('reads a MinIO put with a form-encoded key (+ for spaces, %2F, %2B) and its content type', () => {
    const body = minioPayload({
      eventName: 's3:ObjectCreated:Put',
      bucket: 'uploads',
      encodedKey: 'models%2Firis+v2%2Fmodel%2B1.onnx',
      size: 1234,
      etag: '0123456789abcdef0123456789abcdef',
      contentType: 'application/octet-stream',
    });
    const { changes, skipped } = parseNotification(JSON_HEADERS, json(body));
    expect(skipped).toBe(0);
    expect(changes).toEqual([
      {
        kind: 'created',
        bucket: 'uploads',
        key: 'models/iris v2/model+1.onnx',
        size: 1234,
        etag: '0123456789abcdef0123456789abcdef',
        contentType: 'application/octet-stream',
        time: '2025-03-04T10:20:30.123Z',
        originId: expect.stringContaining('182A1B2C3E1A2B3C'),
      },
    ]);
  });

  it('reads removals (no size or etag reported), AWS names without the s3: prefix, and skips other events', () => {
    const body = {
      Records: [
        awsRecord('ObjectRemoved:Delete', 'b', 'a+b.txt'),
        awsRecord('ObjectCreated:CompleteMultipartUpload', 'b', 'big.bin', 10, '"abc-2"'),
        awsRecord('ObjectAccessed:Get', 'b', 'x'),
      ],
    };
    const { changes, skipped } = parseNotification(JSON_HEADERS, json(body));
    expect(skipped).toBe(1);
    expect(changes.map((c) => [c.kind, c.key, c.size, c.etag])).toEqual([
      ['deleted', 'a b.txt', undefined, undefined],
      ['created', 'big.bin', 10, 'abc-2'],
    ]);
  });

  it('gives a redelivered record the same origin id and another change of the key a different one', () => {
    const put = (etag: string, sequencer: string) =>
      parseNotification(
        JSON_HEADERS,
        json(minioPayload({ eventName: 's3:ObjectCreated:Put', bucket: 'b', encodedKey: 'k', etag, sequencer })),
      ).changes[0]!.originId;
    expect(put('e1', '1')).toBe(put('e1', '1'));
    expect(put('e1', '1')).not.toBe(put('e2', '1'));
  });

  it('decodes keys per encoding: auto keeps keys that cannot be form-encoded (raw senders such as Versity)', () => {
    expect(decodeS3Key('a+b%2Fc', 'k')).toBe('a b/c');
    expect(decodeS3Key('models/iris v2/model+1.onnx', 'k')).toBe('models/iris v2/model+1.onnx');
    expect(decodeS3Key('100%.txt', 'k')).toBe('100%.txt');
    expect(decodeS3Key('a+b', 'k', 'raw')).toBe('a+b');
    expect(() => decodeS3Key('100%.txt', 'Records[0].s3.object.key', 'url')).toThrow(
      /Records\[0\]\.s3\.object\.key: malformed percent-encoding/,
    );
  });

  it('accepts an s3:TestEvent with nothing to announce', () => {
    const body = { Service: 'Amazon S3', Event: 's3:TestEvent', Time: '2025-03-04T10:20:30.000Z', Bucket: 'b' };
    expect(parseNotification(JSON_HEADERS, json(body))).toEqual({ changes: [], skipped: 1 });
  });

  it.each([
    ['an empty body', undefined, /empty body/],
    ['a body that is not JSON', Buffer.from('{"Records": ['), /body is not JSON/],
    ['JSON of another shape', json({ hello: 'world' }), /expected an S3\/MinIO notification/],
    ['Records that is not a list', json({ Records: {} }), /Records: expected a list/],
    ['a record without eventName', json({ Records: [{ s3: {} }] }), /Records\[0\]\.eventName: required/],
    [
      'a record without a key',
      json({ Records: [{ eventName: 's3:ObjectCreated:Put', s3: { bucket: { name: 'b' }, object: {} } }] }),
      /Records\[0\]\.s3\.object\.key: required/,
    ],
    [
      'a record without a bucket',
      json({ Records: [{ eventName: 's3:ObjectCreated:Put', s3: { object: { key: 'k' } } }] }),
      /Records\[0\]\.s3\.bucket\.name: required/,
    ],
  ])('refuses %s with a 400 and the reason', (_name, body, reason) => {
    let caught: unknown;
    try {
      parseNotification(JSON_HEADERS, body);
    } catch (err) {
      caught = err;
    }
    expect(caught).toMatchObject({ statusCode: 400, message: expect.stringMatching(reason) });
  });
});

describe('parseNotification: CloudEvents', () => {
  const gcs = (type: string, data: unknown) =>
    makeEvent(
      {
        id: '9876543210',
        source: '//storage.googleapis.com/projects/_/buckets/models-bucket',
        type,
        subject: 'objects/models/iris/model.onnx',
        time: '2025-03-04T10:20:30.123Z',
        datacontenttype: 'application/json',
      },
      data,
    );

  it('reads a GCS finalized event in binary mode: key not encoded, md5Hash as the hex etag, size from a string', () => {
    const data = gcsObjectData('models-bucket', 'models/iris/model+v1 final.onnx', '{"x":1}');
    const { headers, body } = encodeBinary(gcs('google.cloud.storage.object.v1.finalized', data));
    const { changes } = parseNotification(headers, body);
    expect(changes).toEqual([
      {
        kind: 'created',
        bucket: 'models-bucket',
        key: 'models/iris/model+v1 final.onnx',
        size: 7,
        etag: createHash('md5').update('{"x":1}').digest('hex'),
        contentType: 'application/json',
        time: '2025-03-04T10:20:30.123Z',
        originId: '//storage.googleapis.com/projects/_/buckets/models-bucket/9876543210',
      },
    ]);
  });

  it('reads a GCS deleted event in structured mode, also when posted as plain application/json', () => {
    const event = gcs('google.cloud.storage.object.v1.deleted', gcsObjectData('models-bucket', 'a.onnx', 'x'));
    const structured = encodeStructured(event);
    expect(parseNotification(structured.headers, structured.body).changes[0]).toMatchObject({
      kind: 'deleted',
      key: 'a.onnx',
    });
    expect(parseNotification(JSON_HEADERS, structured.body).changes[0]).toMatchObject({
      kind: 'deleted',
      key: 'a.onnx',
    });
  });

  it('skips GCS events that are not object writes or removals', () => {
    const event = gcs('google.cloud.storage.object.v1.metadataUpdated', gcsObjectData('b', 'a', 'x'));
    const { headers, body } = encodeBinary(event);
    expect(parseNotification(headers, body)).toEqual({ changes: [], skipped: 1 });
  });

  it('reads the CloudEvents S3 adapter (com.amazonaws.s3.*, data = the record) and our own storage events', () => {
    const adapter = makeEvent(
      {
        id: 'C3D13FE58DE4C810.FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S',
        source: 'aws:s3.us-east-1.uploads',
        type: 'com.amazonaws.s3.ObjectCreated:Put',
        subject: 'batches/rows+1.jsonl',
      },
      awsRecord('ObjectCreated:Put', 'uploads', 'batches/rows+1.jsonl', 42, '"f00d"'),
    );
    const a = encodeBinary(adapter);
    expect(parseNotification(a.headers, a.body).changes).toEqual([
      expect.objectContaining({
        kind: 'created',
        bucket: 'uploads',
        key: 'batches/rows 1.jsonl',
        size: 42,
        etag: 'f00d',
      }),
    ]);
    const own = makeEvent(
      { id: '1', source: '/elsewhere', type: 'dev.elasticserving.storage.object.deleted', subject: 'k' },
      { bucket: 'b', key: 'k', etag: 'e' },
    );
    const o = encodeStructured(own);
    expect(parseNotification(o.headers, o.body).changes).toEqual([
      expect.objectContaining({ kind: 'deleted', bucket: 'b', key: 'k', etag: 'e' }),
    ]);
  });

  it('refuses an unknown type and storage events whose data is unusable, naming why', () => {
    const other = encodeBinary(makeEvent({ id: '1', source: '/x', type: 'com.example.thing' }, { a: 1 }));
    expect(() => parseNotification(other.headers, other.body)).toThrow(/unsupported event type "com.example.thing"/);
    const noName = encodeBinary(
      makeEvent(
        {
          id: '2',
          source: '//storage.googleapis.com/projects/_/buckets/b',
          type: 'google.cloud.storage.object.v1.finalized',
        },
        { bucket: 'b' },
      ),
    );
    expect(() => parseNotification(noName.headers, noName.body)).toThrow(/data.name is required/);
    const notJson = encodeBinary(
      makeEvent(
        { id: '3', source: '/x', type: 'google.cloud.storage.object.v1.finalized', datacontenttype: 'text/plain' },
        'hello',
      ),
    );
    expect(() => parseNotification(notJson.headers, notJson.body)).toThrow(/data must be a JSON object/);
  });
});
