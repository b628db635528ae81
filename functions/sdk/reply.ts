import { randomUUID } from 'node:crypto';
import type { CeAttributes, CeAttributeValue, CloudEvent } from '../../services/core/cloudevent.ts';
import { EXT_PARTITION_KEY, makeEvent } from '../../services/core/cloudevent.ts';
import { validateAttributes } from '../../services/core/http/validate.ts';
import type { HandlerResult } from './types.ts';

/** Our own shape: `{ attributes: {specversion, id, source, type, ...}, data?: Buffer }` and nothing else. */
export function isPlatformCloudEvent(value: unknown): value is CloudEvent {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  const attrs = v.attributes as Record<string, unknown> | undefined;
  if (typeof attrs !== 'object' || attrs === null) return false;
  if (typeof attrs.id !== 'string' || typeof attrs.source !== 'string' || typeof attrs.type !== 'string') return false;
  for (const key in v) if (key !== 'attributes' && key !== 'data') return false;
  return v.data === undefined || Buffer.isBuffer(v.data);
}

/**
 * A `cloudevents` package `CloudEvent` instance, recognised by shape so the SDK never loads that package.
 * A plain object literal with the same fields is a value to reply with, not an event: only class instances count.
 */
export function isSdkCloudEvent(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null;
  if (proto === null || proto === Object.prototype || proto.constructor?.name !== 'CloudEvent') return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.id === 'string' &&
    typeof v.source === 'string' &&
    typeof v.type === 'string' &&
    typeof v.specversion === 'string'
  );
}

function fromSdkCloudEvent(ce: Record<string, unknown>): CloudEvent {
  const attributes = {} as CeAttributes;
  for (const key of Object.keys(ce)) {
    const value = ce[key];
    if (key === 'data' || key === 'data_base64' || value === undefined || value === null) continue;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      attributes[key] = value as CeAttributeValue;
    } else if (value instanceof Date) {
      attributes[key] = value.toISOString();
    }
  }
  if (typeof ce.data_base64 === 'string') return { attributes, data: Buffer.from(ce.data_base64, 'base64') };
  const data = ce.data;
  if (data === undefined || data === null) return { attributes };
  if (data instanceof Uint8Array)
    return { attributes, data: Buffer.from(data.buffer, data.byteOffset, data.byteLength) };
  if (typeof data === 'string' && attributes.datacontenttype && !/json/i.test(attributes.datacontenttype)) {
    return { attributes, data: Buffer.from(data) };
  }
  attributes.datacontenttype ??= 'application/json';
  return { attributes, data: Buffer.from(JSON.stringify(data)) };
}

export interface ReplyDefaults {
  /** Reply type for plain values. */
  type: string;
  /** Reply source for plain values. */
  source: string;
}

/**
 * Turns a handler's result into the reply event, or `undefined` for "no reply" (202).
 * Throws when the handler returned an event that is not valid, so the caller answers 500 and says why.
 */
export function toReplyEvent(
  result: HandlerResult,
  request: CloudEvent,
  defaults: ReplyDefaults,
): CloudEvent | undefined {
  if (result === undefined) return undefined;
  let reply: CloudEvent;
  if (isPlatformCloudEvent(result)) {
    reply = {
      attributes: { ...result.attributes, specversion: result.attributes.specversion ?? '1.0' },
      ...(result.data ? { data: result.data } : {}),
    };
  } else if (isSdkCloudEvent(result)) {
    reply = fromSdkCloudEvent(result);
  } else {
    const attributes: Omit<CeAttributes, 'specversion'> = {
      id: randomUUID(),
      source: defaults.source,
      type: defaults.type,
      time: new Date().toISOString(),
    };
    const partitionKey = request.attributes[EXT_PARTITION_KEY];
    if (partitionKey !== undefined) attributes[EXT_PARTITION_KEY] = partitionKey;
    if (result instanceof Uint8Array) {
      attributes.datacontenttype = 'application/octet-stream';
      return makeEvent(attributes, Buffer.from(result.buffer, result.byteOffset, result.byteLength));
    }
    attributes.datacontenttype = 'application/json';
    return {
      attributes: { specversion: '1.0', ...attributes } as CeAttributes,
      data: Buffer.from(JSON.stringify(result)),
    };
  }
  validateAttributes(reply.attributes);
  return reply;
}
