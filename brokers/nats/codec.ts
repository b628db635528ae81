import type { Msg, MsgHdrs } from 'nats';
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
const HEADER_LINE = 'NATS/1.0\r\n';

/** Header carrying the dedup key JetStream checks within the stream's duplicate window. */
export const MSG_ID_HEADER = 'Nats-Msg-Id';

/**
 * Header block and payload of one event. `dedup` adds `Nats-Msg-Id` from `source`+`id`.
 *
 * The block is written here rather than through nats.js's header object, whose per-header `append` re-validates and
 * re-scans every key: with the decoding below, that object was a quarter of what the platform allocated per event
 * on NATS. Keys are checked here; encoded values are printable ASCII, so the block is latin1.
 */
export function encodeEvent(event: CloudEvent, dedup: boolean): { headers: Uint8Array; payload: Uint8Array } {
  let block = HEADER_LINE;
  const attrs = event.attributes;
  for (const name in attrs) {
    const value = attrs[name];
    if (value === undefined) continue;
    if (!ATTRIBUTE_NAME.test(name)) throw new InvalidEventError(`invalid attribute name ${JSON.stringify(name)}`);
    block += `${PREFIX}${name}: ${encodeHeaderValue(typeof value === 'string' ? value : String(value))}\r\n`;
  }
  if (dedup) block += `${MSG_ID_HEADER}: ${dedupId(attrs.source, attrs.id)}\r\n`;
  return { headers: Buffer.from(`${block}\r\n`, 'latin1'), payload: event.data ?? EMPTY };
}

/**
 * The `[key, value]` pairs of a raw header block (`NATS/1.0…\r\nKey: value\r\n…\r\n\r\n`), in order. Read as UTF-8,
 * as nats.js reads it: a plain client may put raw UTF-8 in a value.
 */
export function readHeaderBlock(block: Uint8Array): [string, string][] {
  const text = Buffer.from(block.buffer, block.byteOffset, block.byteLength).toString('utf8');
  const pairs: [string, string][] = [];
  let at = text.indexOf('\r\n') + 2;
  while (at > 1 && at < text.length) {
    const end = text.indexOf('\r\n', at);
    const line = text.slice(at, end < 0 ? text.length : end);
    const colon = line.indexOf(':');
    if (colon > 0) pairs.push([line.slice(0, colon), line.slice(colon + 1).trim()]);
    at = end < 0 ? text.length : end + 2;
  }
  return pairs;
}

/**
 * `<source> <id>`, each percent-encoded: encoded values hold no space, so the first space splits them and two
 * different pairs never share a key.
 */
export function dedupId(source: string, id: string): string {
  return `${encodeHeaderValue(source)} ${encodeHeaderValue(id)}`;
}

/** The raw header block of a received message, where nats.js keeps it (its own parse is what `encodeEvent` avoids). */
function rawHeaderBlock(msg: Msg): Uint8Array | undefined {
  const raw = msg as unknown as { _rdata?: Uint8Array; _msg?: { hdr?: number } };
  const length = raw._msg?.hdr;
  return raw._rdata instanceof Uint8Array && typeof length === 'number' && length > 0
    ? raw._rdata.subarray(0, length)
    : undefined;
}

/** `decodeEvent` on a received message, reading its header block directly when nats.js still holds it raw. */
export function decodeMessage(msg: Msg): CloudEvent {
  const block = rawHeaderBlock(msg);
  return decodeEvent(block ?? msg.headers, msg.data);
}

/**
 * Reads a stored message back into a CloudEvent: binary mode (`ce-` headers, any letter case), or structured mode
 * when there are no `ce-` headers and `Content-Type` is a CloudEvents format. Throws `InvalidEventError` for
 * anything else. Extensions come back as strings. `headers` is a raw header block or a nats.js header object.
 */
export function decodeEvent(headers: Uint8Array | MsgHdrs | undefined, payload: Uint8Array): CloudEvent {
  const attrs = {} as CeAttributes;
  let found = false;
  let contentType: string | undefined;
  const pairs =
    headers === undefined
      ? []
      : headers instanceof Uint8Array
        ? readHeaderBlock(headers)
        : [...headers].map(([key, values]): [string, string | undefined] => [key, values[0]]);
  for (const [key, value] of pairs) {
    if (value === undefined) continue;
    if (key.length > 3 && (key.charCodeAt(0) | 0x20) === 99 && (key.charCodeAt(1) | 0x20) === 101 && key[2] === '-') {
      attrs[key.slice(3).toLowerCase()] = decodeValue(value);
      found = true;
    } else if (key.toLowerCase() === 'content-type') {
      contentType = value;
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
