import { InvalidEventError } from '../errors.ts';

const PLAIN_ASCII = /^[\x21\x23\x24\x26-\x7e]*$/;
const HAS_HIGH_BYTE = /[\u0080-\uffff]/;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes a `ce-` header value as the CloudEvents HTTP binding says: percent-decoding to UTF-8. Node hands header
 * bytes over as latin1, so raw non-ASCII bytes are re-read as UTF-8 and refused when they are not valid UTF-8.
 */
export function decodeHeaderValue(name: string, raw: string): string {
  if (PLAIN_ASCII.test(raw)) return raw;
  let value = raw;
  if (HAS_HIGH_BYTE.test(value)) {
    try {
      value = strictUtf8.decode(Buffer.from(value, 'latin1'));
    } catch {
      throw new InvalidEventError(`header ${name} is not valid UTF-8`);
    }
  }
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    throw new InvalidEventError(`header ${name} has invalid percent-encoding or encodes invalid UTF-8`);
  }
}

/** Percent-encodes space, `"`, `%` and everything outside printable ASCII (HTTP binding §3.1.3.2). */
export function encodeHeaderValue(value: string): string {
  if (PLAIN_ASCII.test(value)) return value;
  let out = '';
  for (const ch of value) {
    const code = ch.codePointAt(0)!;
    if (code >= 0x21 && code <= 0x7e && ch !== '"' && ch !== '%') out += ch;
    else for (const byte of Buffer.from(ch, 'utf8')) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Throws unless `bytes` are valid UTF-8 (JSON bodies must be). */
export function assertUtf8(bytes: Buffer, what: string): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    throw new InvalidEventError(`${what} is not valid UTF-8`);
  }
}
