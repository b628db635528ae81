import type { IHeaders, KafkaMessage, Message } from 'kafkajs';
import {
  attributeString,
  type CeAttributes,
  type CloudEvent,
  EXT_PARTITION_KEY,
} from '../../services/core/cloudevent.ts';
import { InvalidEventError } from '../../services/core/errors.ts';
import { parseStructured } from '../../services/core/http/structured.ts';
import { validateAttributes } from '../../services/core/http/validate.ts';

/**
 * CloudEvents Kafka protocol binding, binary content mode: every attribute but `datacontenttype` is a `ce_<name>`
 * header, `datacontenttype` is the `content-type` header, `data` is the record value (no value when there is no
 * data) and the record key is the `partitionkey` extension (which also stays a `ce_partitionkey` header, as the
 * binding requires of key mappers). Header values are plain UTF-8, no percent-encoding.
 */
const CE_PREFIX = 'ce_';
const CONTENT_TYPE = 'content-type';
/** Bytes a record adds beyond key, value and headers (record framing, varints, timestamp delta), rounded up. */
const RECORD_OVERHEAD = 32;

export interface EncodedRecord {
  message: Message;
  /** Approximate size on the wire, for batch limits. */
  bytes: number;
  /** The `partitionkey`, when present. */
  key: string | undefined;
}

export function encodeRecord(event: CloudEvent, timestamp: string): EncodedRecord {
  const headers: IHeaders = {};
  let bytes = RECORD_OVERHEAD;
  let key: string | undefined;
  const attributes = event.attributes;
  for (const name in attributes) {
    const value = attributes[name];
    if (value === undefined) continue;
    const text = attributeString(value);
    if (name === 'datacontenttype') {
      headers[CONTENT_TYPE] = text;
      bytes += CONTENT_TYPE.length + Buffer.byteLength(text);
      continue;
    }
    if (name === EXT_PARTITION_KEY) key = text;
    headers[CE_PREFIX + name] = text;
    bytes += CE_PREFIX.length + name.length + Buffer.byteLength(text) + 2;
  }
  const value = event.data ?? null;
  if (value !== null) bytes += value.length;
  if (key !== undefined) bytes += Buffer.byteLength(key);
  return { message: { key: key ?? null, value, headers, timestamp }, bytes, key };
}

/**
 * Decodes a record in binary mode, or in structured mode when `content-type` starts with `application/cloudevents`
 * (JSON format). A binary record without `ce_partitionkey` but with a key gets the key as its `partitionkey`.
 * Throws `InvalidEventError` when the record is not a valid CloudEvent.
 */
export function decodeRecord(message: KafkaMessage): CloudEvent {
  const headers = message.headers ?? {};
  const contentType = headerText(headers[CONTENT_TYPE]);
  if (contentType !== undefined && /^application\/cloudevents(\+json)?\s*(;|$)/i.test(contentType)) {
    return parseStructured(message.value ?? undefined);
  }
  const attributes = {} as CeAttributes;
  for (const name in headers) {
    if (!name.startsWith(CE_PREFIX)) continue;
    const text = headerText(headers[name]);
    if (text !== undefined) attributes[name.slice(CE_PREFIX.length)] = text;
  }
  if (contentType !== undefined) attributes.datacontenttype = contentType;
  if (attributes[EXT_PARTITION_KEY] === undefined && message.key !== null && message.key.length > 0) {
    attributes[EXT_PARTITION_KEY] = message.key.toString('utf8');
  }
  validateAttributes(attributes);
  return message.value === null ? { attributes } : { attributes, data: message.value };
}

function headerText(value: IHeaders[string]): string | undefined {
  if (value === undefined) return undefined;
  // A repeated header: the binding maps one attribute to one header, so the last one wins.
  const one = Array.isArray(value) ? value[value.length - 1] : value;
  if (one === undefined) return undefined;
  if (typeof one === 'string') return one;
  const text = one.toString('utf8');
  if (text.includes('\uFFFD') && !Buffer.from(text, 'utf8').equals(one)) {
    throw new InvalidEventError('a ce_ header value is not valid UTF-8');
  }
  return text;
}
