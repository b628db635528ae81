import fc from 'fast-check';

/**
 * How a generated request must be answered. `invalid`: built so that no correct ingress may accept it (strict: a 4xx
 * with a JSON reason). `valid`: a positive control that must get 202. `maybe`: random enough that either is fine.
 */
export type Expectation = 'invalid' | 'maybe' | 'valid';

/** A request an HTTP client library can also send: ASCII header values, framing left to the sender. */
export interface RequestSpec {
  method: string;
  path: string;
  headers: [string, string][];
  body: Buffer;
}

/** One generated request. */
export interface FuzzCase {
  category: string;
  expect: Expectation;
  /** The bytes written to the socket. */
  bytes: Buffer;
  /** Present when the request is well-formed enough for undici to send it instead of the raw writer. */
  spec?: RequestSpec;
  /** Half-close after writing so the server sees EOF (truncated requests would otherwise wait for more). */
  halfClose?: boolean;
  /** HEAD: the answer has no body. */
  head?: boolean;
}

export const TARGET = '/default/default';

/**
 * Placeholder for an event id, swapped for a per-case id of the same length just before sending (framing stays
 * right), so a stored event can be traced back to the request that carried it.
 */
export const ID_SLOT = '@@@@@@@@';

export function caseId(index: number): string {
  return `c${index.toString(36).padStart(7, '0')}`;
}

export function fillIds(bytes: Buffer, index: number): Buffer {
  let at = bytes.indexOf(ID_SLOT);
  if (at === -1) return bytes;
  const out = Buffer.from(bytes);
  const id = Buffer.from(caseId(index));
  while (at !== -1) {
    id.copy(out, at);
    at = out.indexOf(ID_SLOT, at + ID_SLOT.length);
  }
  return out;
}

export type HeaderList = [string, string | Buffer][];

/** Serializes a request; `framing` decides how the body is delimited (`none`: the caller's headers do it). */
export function rawRequest(
  method: string,
  target: string,
  headers: HeaderList,
  body: Buffer,
  framing: 'length' | 'none' = 'length',
  version = 'HTTP/1.1',
): Buffer {
  const lines: Buffer[] = [Buffer.from(`${method} ${target} ${version}\r\n`, 'latin1')];
  for (const [name, value] of headers) {
    lines.push(Buffer.from(`${name}: `, 'latin1'), typeof value === 'string' ? Buffer.from(value, 'latin1') : value);
    lines.push(Buffer.from('\r\n'));
  }
  if (framing === 'length') lines.push(Buffer.from(`Content-Length: ${body.length}\r\n`));
  lines.push(Buffer.from('\r\n'), body);
  return Buffer.concat(lines);
}

export function specToRaw(spec: RequestSpec): Buffer {
  return rawRequest(spec.method, spec.path, [['Host', '127.0.0.1'], ...spec.headers], spec.body);
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

export function isValidUtf8(bytes: Uint8Array): boolean {
  try {
    strictUtf8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** Attribute-safe text: no `%` (it would be percent-decoded), no spaces (trimmed by Node), never empty. */
export const safe = fc.stringMatching(/^[A-Za-z0-9._~:/+-]{1,24}$/);
export const word = fc.stringMatching(/^[a-z0-9]{1,10}$/);
/** Mostly the traceable placeholder, sometimes a random id. */
export const idArb = fc.oneof({ arbitrary: fc.constant(ID_SLOT), weight: 3 }, { arbitrary: safe, weight: 1 });

const RESERVED = new Set([
  'specversion',
  'id',
  'source',
  'type',
  'datacontenttype',
  'time',
  'data',
  'dataschema',
  'subject',
]);
/** A valid extension attribute name (lower-case a-z0-9, not a context attribute). */
export const extName = word.filter((n) => !RESERVED.has(n));

export interface ValidAttrs {
  id: string;
  source: string;
  type: string;
  extensions: [string, string][];
}

export const validAttrs: fc.Arbitrary<ValidAttrs> = fc.record({
  id: idArb,
  source: safe,
  type: safe,
  extensions: fc.array(fc.tuple(extName, safe), { maxLength: 3 }),
});

/** Header names are case-insensitive: vary their spelling. */
export const casing = fc.constantFrom<(s: string) => string>(
  (s) => s,
  (s) => s.toUpperCase(),
  (s) => s.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase()),
);

export function ceHeaders(a: ValidAttrs, cased: (s: string) => string = (s) => s): HeaderList {
  const out: HeaderList = [
    [cased('ce-specversion'), '1.0'],
    [cased('ce-id'), a.id],
    [cased('ce-source'), a.source],
    [cased('ce-type'), a.type],
  ];
  for (const [name, value] of a.extensions) out.push([cased(`ce-${name}`), value]);
  return out;
}

/** Harmless extra headers that change nothing about validity. */
export const noiseHeaders = fc.array(fc.tuple(fc.stringMatching(/^x-[a-z0-9-]{1,12}$/), safe), { maxLength: 3 });

/** Media types that leave a binary-mode event valid. */
export const binaryContentType = fc.constantFrom(
  undefined,
  'application/json',
  'text/plain; charset=utf-8',
  'application/octet-stream',
  'multipart/form-data; boundary=zz',
  'application/xml',
);

export const smallBody: fc.Arbitrary<Buffer> = fc.oneof(
  fc.constant(Buffer.alloc(0)),
  fc.uint8Array({ maxLength: 256 }).map((a) => Buffer.from(a)),
  fc.jsonValue({ maxDepth: 3 }).map((v) => Buffer.from(JSON.stringify(v) ?? 'null')),
);

/** Bytes that are not valid UTF-8 (all high bits set, so HTTP header parsing lets them through). */
export const invalidUtf8 = fc.oneof(
  fc
    .constantFrom(
      [0xff],
      [0xc3, 0x28],
      [0x80],
      [0xc0, 0xaf],
      [0xed, 0xa0, 0x80],
      [0xe2, 0x82],
      [0xf8, 0x88, 0x80, 0x80, 0x80],
      [0xf4, 0x90, 0x80, 0x80],
      [0xfe, 0xfe, 0xff, 0xff],
    )
    .map((a) => Buffer.from(a)),
  fc
    .uint8Array({ minLength: 1, maxLength: 12 })
    .map((a) => Buffer.from(a.map((b) => b | 0x80)))
    .filter((b) => !isValidUtf8(b)),
);

/** A `spec` case with its raw form. */
export function specCase(category: string, expect: Expectation, spec: RequestSpec): FuzzCase {
  return { category, expect, spec, bytes: specToRaw(spec) };
}
