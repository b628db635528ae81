import { type MsgHdrs, MsgHdrsImpl } from 'nats';
import type { CeAttributes, CloudEvent } from '../../services/core/cloudevent.ts';
import { InvalidEventError } from '../../services/core/errors.ts';
import { encodeHeaderValue } from '../../services/core/http/header-value.ts';
import { parseStructured } from '../../services/core/http/structured.ts';

/**
 * CloudEvents binary content mode on NATS, as the NATS protocol binding's binary mode describes it: every context
 * attribute is a `ce-<name>` header (`datacontenttype` included — `Content-Type` is left to mean structured mode)
 * and the payload is the event data, byte for byte. Header values are percent-encoded by the HTTP binding's rule
 * (space, `"`, `%` and everything outside printable ASCII), because NATS header values are printable ASCII and
 * lose leading and trailing blanks.
 */
const PREFIX = 'ce-';
const EMPTY = new Uint8Array(0);
const STRUCTURED = 'application/cloudevents';
const ATTRIBUTE_NAME = /^[a-z0-9]+$/;

/** Header carrying the dedup key JetStream checks within the stream's duplicate window. */
export const MSG_ID_HEADER = 'Nats-Msg-Id';

/** Headers and payload of one event. `dedup` adds `Nats-Msg-Id` from `source`+`id`. */
export function encodeEvent(event: CloudEvent, dedup: boolean): { headers: MsgHdrs; payload: Uint8Array } {
  // Built as a record: nats.js's header-by-header `append` re-validates and re-scans every key each time, which
  // cost more than the rest of an append. Keys are checked here; encoded values are printable ASCII.
  const record: Record<string, string[]> = {};
  const attrs = event.attributes;
  for (const name in attrs) {
    const value = attrs[name];
    if (value === undefined) continue;
    if (!ATTRIBUTE_NAME.test(name)) throw new InvalidEventError(`invalid attribute name ${JSON.stringify(name)}`);
    record[PREFIX + name] = [encodeHeaderValue(typeof value === 'string' ? value : String(value))];
  }
  if (dedup) record[MSG_ID_HEADER] = [dedupId(attrs.source, attrs.id)];
  return { headers: MsgHdrsImpl.fromRecord(record), payload: event.data ?? EMPTY };
}

/**
 * `<source> <id>`, each percent-encoded: encoded values hold no space, so the first space splits them and two
 * different pairs never share a key.
 */
export function dedupId(source: string, id: string): string {
  return `${encodeHeaderValue(source)} ${encodeHeaderValue(id)}`;
}

/**
 * Reads a stored message back into a CloudEvent: binary mode (`ce-` headers, any letter case), or structured mode
 * when there are no `ce-` headers and `Content-Type` is a CloudEvents format. Throws `InvalidEventError` for
 * anything else. Extensions come back as strings.
 */
export function decodeEvent(headers: MsgHdrs | undefined, payload: Uint8Array): CloudEvent {
  const attrs = {} as CeAttributes;
  let found = false;
  let contentType: string | undefined;
  if (headers !== undefined) {
    for (const [key, values] of headers) {
      const value = values[0];
      if (value === undefined) continue;
      if (key.length > 3 && (key.charCodeAt(0) | 0x20) === 99 && (key.charCodeAt(1) | 0x20) === 101 && key[2] === '-') {
        attrs[key.slice(3).toLowerCase()] = decodeValue(value);
        found = true;
      } else if (key.toLowerCase() === 'content-type') {
        contentType = value;
      }
    }
  }
  const data = payload.length === 0 ? undefined : Buffer.from(payload);
  if (!found) {
    if (contentType?.toLowerCase().startsWith(STRUCTURED)) return parseStructured(data);
    throw new InvalidEventError('not a CloudEvent: no ce- headers and no CloudEvents content type');
  }
  for (const name of ['specversion', 'id', 'source', 'type'] as const) {
    if (attrs[name] === undefined || attrs[name] === '') throw new InvalidEventError(`missing attribute ${name}`);
  }
  return data === undefined ? { attributes: attrs } : { attributes: attrs, data };
}

/** Percent-decoding; a value that is not valid percent-encoding (a plain client's raw text) is kept as it is. */
function decodeValue(raw: string): string {
  if (!raw.includes('%')) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** What a JetStream delivery's ack subject tells: stream sequence and how many times it was delivered. */
export interface AckInfo {
  streamSeq: string;
  delivered: number;
}

/**
 * Parses `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<dseq>.<ts>.<pending>` and its longer form with domain
 * and account hash in front (`$JS.ACK.<domain>.<hash>.<stream>…`, 12 tokens and more). Names cannot hold dots.
 */
export function parseAckSubject(reply: string): AckInfo | undefined {
  const t = reply.split('.');
  if (t[0] !== '$JS' || t[1] !== 'ACK') return undefined;
  const base = t.length >= 12 ? 4 : t.length === 9 ? 2 : -1;
  if (base < 0) return undefined;
  const delivered = Number(t[base + 2]);
  const streamSeq = t[base + 3];
  if (!Number.isSafeInteger(delivered) || streamSeq === undefined || !/^\d+$/.test(streamSeq)) return undefined;
  return { streamSeq, delivered };
}
