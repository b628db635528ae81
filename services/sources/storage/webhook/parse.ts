import { claimsCloudEvent, type HttpHeaders, parseHttpEvents } from '../../../core/http/codec.ts';
import type { ObjectChange } from '../types.ts';
import { ACCEPTED_TYPES, fromCloudEvent } from './cloudevents.ts';
import { BadNotificationError, fromS3Notification, isRecord, type KeyEncoding } from './records.ts';

/** What one notification request carried. */
export interface ParsedNotification {
  changes: ObjectChange[];
  /** Entries that were valid but not object changes (e.g. `s3:ObjectAccessed:Get`, `s3:TestEvent`). */
  skipped: number;
}

/**
 * Reads one webhook request: a CloudEvent (binary, structured or batch mode) of a storage type, or a plain JSON
 * S3/MinIO notification (`Records[]`), keys decoded per `encoding`. Throws a 400 error with the reason for
 * anything else.
 */
export function parseNotification(
  headers: HttpHeaders,
  body: Buffer | undefined,
  encoding: KeyEncoding = 'auto',
): ParsedNotification {
  if (claimsCloudEvent(headers)) return fromCloudEvents(headers, body, encoding);
  if (body === undefined || body.length === 0) {
    throw new BadNotificationError('empty body: expected an S3/MinIO notification (Records[]) or a CloudEvent');
  }
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new BadNotificationError(`body is not JSON: ${(err as Error).message}`);
  }
  // A structured CloudEvent posted as plain application/json (some relays do): read it as what it is.
  if (isRecord(json) && typeof json.specversion === 'string') {
    return fromCloudEvents({ 'content-type': 'application/cloudevents+json' }, body, encoding);
  }
  const parsed = fromS3Notification(json, encoding);
  if (parsed === undefined) {
    throw new BadNotificationError(
      `expected an S3/MinIO notification ({"Records": [...]}) or a CloudEvent of type ${ACCEPTED_TYPES.join(', ')}`,
    );
  }
  return parsed;
}

function fromCloudEvents(headers: HttpHeaders, body: Buffer | undefined, encoding: KeyEncoding): ParsedNotification {
  const changes: ObjectChange[] = [];
  let skipped = 0;
  for (const event of parseHttpEvents(headers, body)) {
    const got = fromCloudEvent(event, encoding);
    changes.push(...got);
    if (got.length === 0) skipped++;
  }
  return { changes, skipped };
}
