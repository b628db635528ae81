/**
 * Notification bodies in the shapes real senders use, for the webhook tests: MinIO's (`EventName`, `Key`,
 * `Records[]` with form-encoded keys, `%2F` for `/`), AWS S3's event message 2.1, and a GCS Eventarc
 * StorageObjectData. Values are made up; the field names and encodings are the senders'.
 */
import { createHash } from 'node:crypto';

/** MinIO's webhook body for one event (MinIO wraps each record with `EventName` and `Key`). */
export function minioPayload(opts: {
  eventName: string;
  bucket: string;
  encodedKey: string;
  size?: number;
  etag?: string;
  contentType?: string;
  sequencer?: string;
}): Record<string, unknown> {
  return {
    EventName: opts.eventName,
    Key: `${opts.bucket}/${decodeURIComponent(opts.encodedKey.replace(/\+/g, ' '))}`,
    Records: [
      {
        eventVersion: '2.0',
        eventSource: 'minio:s3',
        awsRegion: '',
        eventTime: '2025-03-04T10:20:30.123Z',
        eventName: opts.eventName,
        userIdentity: { principalId: 'minioadmin' },
        requestParameters: { principalId: 'minioadmin', region: '', sourceIPAddress: '127.0.0.1' },
        responseElements: {
          'x-amz-id-2': 'dd9025bab4ad464b049177c95eb6ebf374d3b3fd1af9251148b658df7ac2e3e8',
          'x-amz-request-id': '182A1B2C3D4E5F60',
          'x-minio-deployment-id': '4b1c7c4e-0d1b-4c0e-9a43-0d6f7f2b9e11',
          'x-minio-origin-endpoint': 'http://127.0.0.1:9000',
        },
        s3: {
          s3SchemaVersion: '1.0',
          configurationId: 'Config',
          bucket: {
            name: opts.bucket,
            ownerIdentity: { principalId: 'minioadmin' },
            arn: `arn:aws:s3:::${opts.bucket}`,
          },
          object: {
            key: opts.encodedKey,
            ...(opts.size === undefined ? {} : { size: opts.size }),
            ...(opts.etag === undefined ? {} : { eTag: opts.etag }),
            ...(opts.contentType === undefined
              ? {}
              : { contentType: opts.contentType, userMetadata: { 'content-type': opts.contentType } }),
            sequencer: opts.sequencer ?? '182A1B2C3E1A2B3C',
          },
        },
        source: { host: '127.0.0.1', port: '', userAgent: 'MinIO (linux; amd64) minio-go/v7.0.70 mc/RELEASE' },
      },
    ],
  };
}

/** One AWS S3 event message record (what S3 sends to SQS/SNS/Lambda and the CloudEvents S3 adapter wraps). */
export function awsRecord(eventName: string, bucket: string, encodedKey: string, size?: number, etag?: string) {
  return {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: 'us-east-1',
    eventTime: '2025-03-04T10:20:31.000Z',
    eventName,
    userIdentity: { principalId: 'AWS:AIDAEXAMPLE' },
    requestParameters: { sourceIPAddress: '203.0.113.9' },
    responseElements: {
      'x-amz-request-id': 'C3D13FE58DE4C810',
      'x-amz-id-2': 'FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S',
    },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: 'upload-events',
      bucket: { name: bucket, ownerIdentity: { principalId: 'A3NL1KOZZKExample' }, arn: `arn:aws:s3:::${bucket}` },
      object: {
        key: encodedKey,
        ...(size === undefined ? {} : { size }),
        ...(etag === undefined ? {} : { eTag: etag }),
        sequencer: '0055AED6DCD90281E5',
      },
    },
  };
}

/** GCS StorageObjectData (the `data` of `google.cloud.storage.object.v1.*` events) of an object holding `content`. */
export function gcsObjectData(bucket: string, name: string, content: string) {
  return {
    kind: 'storage#object',
    id: `${bucket}/${name}/1741083630123456`,
    selfLink: `https://www.googleapis.com/storage/v1/b/${bucket}/o/${encodeURIComponent(name)}`,
    name,
    bucket,
    generation: '1741083630123456',
    metageneration: '1',
    contentType: 'application/json',
    timeCreated: '2025-03-04T10:20:30.123Z',
    updated: '2025-03-04T10:20:30.123Z',
    storageClass: 'STANDARD',
    size: String(Buffer.byteLength(content)),
    md5Hash: createHash('md5').update(content).digest('base64'),
    crc32c: 'AAAAAA==',
    etag: 'CMDn7uP3sIsDEAE=',
  };
}
