import fc from 'fast-check';
import { validObject } from './fuzz-events.ts';
import {
  ceHeaders,
  type FuzzCase,
  type HeaderList,
  rawRequest,
  safe,
  specCase,
  TARGET,
  validAttrs,
  word,
} from './fuzz-shared.ts';

// Generators of requests that are broken at the HTTP level, written as raw bytes (no client library sends these).

const HOST: [string, string] = ['Host', '127.0.0.1'];
const letters = fc.stringMatching(/^[a-z]{1,40}$/);

/** Every method but POST (and OPTIONS, which answers the CloudEvents webhook handshake with 200). */
export const methodInvalid: fc.Arbitrary<FuzzCase> = fc
  .record({
    attrs: validAttrs,
    method: fc.oneof(
      {
        weight: 10,
        arbitrary: fc.constantFrom(
          'GET',
          'PUT',
          'DELETE',
          'PATCH',
          'HEAD',
          'TRACE',
          'PROPFIND',
          'PROPPATCH',
          'MKCOL',
          'COPY',
          'MOVE',
          'LOCK',
          'UNLOCK',
          'SEARCH',
          'PURGE',
          'LINK',
          'UNLINK',
          'REPORT',
          'MKACTIVITY',
          'CHECKOUT',
          'MERGE',
          'NOTIFY',
          'SUBSCRIBE',
          'UNSUBSCRIBE',
          'QUERY',
          'ACL',
          'BIND',
          'SOURCE',
        ),
      },
      { weight: 4, arbitrary: fc.constantFrom('post', 'Post', 'POS', 'POSTT', 'P0ST', 'GETT', 'X') },
      { weight: 4, arbitrary: fc.stringMatching(/^[A-Z]{1,12}$/).filter((m) => m !== 'POST' && m !== 'OPTIONS') },
      {
        weight: 2,
        arbitrary: fc
          .stringMatching(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,12}$/)
          .filter((m) => m !== 'POST' && m !== 'OPTIONS'),
      },
      { weight: 1, arbitrary: fc.constant('CONNECT') },
    ),
    body: fc.oneof(fc.constant(Buffer.alloc(0)), fc.constant(Buffer.from('{"a":1}'))),
  })
  .map(({ attrs, method, body }) => ({
    category: 'method',
    expect: 'invalid' as const,
    head: method === 'HEAD',
    halfClose: true,
    bytes: rawRequest(method, TARGET, [HOST, ...ceHeaders(attrs)], body),
  }));

/** Bodies around the size limit: over it is refused with 413, at it (or just below) accepted. */
export function bodyLimit(maxBodyBytes: number): fc.Arbitrary<FuzzCase> {
  const framed = (headers: HeaderList, body: Buffer, chunked: boolean, chunk: number) => {
    if (!chunked) return rawRequest('POST', TARGET, [HOST, ...headers], body);
    const parts: Buffer[] = [];
    for (let at = 0; at < body.length; at += chunk) {
      const piece = body.subarray(at, at + chunk);
      parts.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n'));
    }
    parts.push(Buffer.from('0\r\n\r\n'));
    return rawRequest(
      'POST',
      TARGET,
      [HOST, ...headers, ['Transfer-Encoding', 'chunked']],
      Buffer.concat(parts),
      'none',
    );
  };
  return fc.oneof(
    fc
      .record({
        attrs: validAttrs,
        over: fc.integer({ min: 1, max: 32768 }),
        chunked: fc.boolean(),
        chunk: fc.integer({ min: 512, max: 65536 }),
      })
      .map(({ attrs, over, chunked, chunk }) => ({
        category: 'body-too-large',
        expect: 'invalid' as const,
        bytes: framed(ceHeaders(attrs), Buffer.alloc(maxBodyBytes + over, 0x61), chunked, chunk),
      })),
    // Only the Content-Length claims too much: the answer must not wait for the body.
    fc
      .record({ attrs: validAttrs, claim: fc.integer({ min: maxBodyBytes + 1, max: 2 ** 40 }) })
      .map(({ attrs, claim }) => ({
        category: 'body-too-large',
        expect: 'invalid' as const,
        bytes: rawRequest(
          'POST',
          TARGET,
          [HOST, ...ceHeaders(attrs), ['Content-Length', String(claim)]],
          Buffer.from('{}'),
          'none',
        ),
      })),
    fc
      .record({
        attrs: validAttrs,
        under: fc.integer({ min: 0, max: 64 }),
        chunked: fc.boolean(),
        chunk: fc.integer({ min: 512, max: 65536 }),
      })
      .map(({ attrs, under, chunked, chunk }) => ({
        category: 'body-at-limit',
        expect: 'valid' as const,
        bytes: framed(ceHeaders(attrs), Buffer.alloc(maxBodyBytes - under, 0x62), chunked, chunk),
      })),
  );
}

/**
 * Request heads over Node's 16 KiB limit (it counts URL, header name and value bytes): one huge header, many
 * headers, a huge URL, a huge name, a huge trailer.
 */
export const oversizedHeaders: fc.Arbitrary<FuzzCase> = fc
  .record({
    attrs: validAttrs,
    size: fc.integer({ min: 16_500, max: 48_000 }),
    shape: fc.constantFrom('value', 'many', 'url', 'name', 'trailer'),
  })
  .map(({ attrs, size, shape }) => {
    const ce = ceHeaders(attrs);
    let bytes: Buffer;
    if (shape === 'value')
      bytes = rawRequest('POST', TARGET, [HOST, ...ce, ['x-big', 'v'.repeat(size)]], Buffer.alloc(0));
    else if (shape === 'name')
      bytes = rawRequest('POST', TARGET, [HOST, ...ce, [`x-${'n'.repeat(size)}`, '1']], Buffer.alloc(0));
    else if (shape === 'url')
      bytes = rawRequest('POST', `${TARGET}?q=${'u'.repeat(size)}`, [HOST, ...ce], Buffer.alloc(0));
    else if (shape === 'many') {
      const many: HeaderList = Array.from({ length: Math.ceil(size / 30) }, (_, i) => [`x-h${i}`, 'h'.repeat(32)]);
      bytes = rawRequest('POST', TARGET, [HOST, ...ce, ...many], Buffer.alloc(0));
    } else {
      const body = Buffer.from(`2\r\n{}\r\n0\r\nx-trailer: ${'t'.repeat(size)}\r\n\r\n`);
      bytes = rawRequest('POST', TARGET, [HOST, ...ce, ['Transfer-Encoding', 'chunked']], body, 'none');
    }
    return { category: 'oversized-headers', expect: 'invalid' as const, bytes, halfClose: true };
  });

/** Chunked bodies broken in one of several ways; the server sees EOF after them, so waiting is never the answer. */
export const chunkedInvalid: fc.Arbitrary<FuzzCase> = fc
  .record({
    attrs: validAttrs,
    chunks: fc.array(letters, { minLength: 1, maxLength: 4 }),
    at: fc.nat(),
    breakage: fc.oneof(
      fc.record({
        kind: fc.constant('size' as const),
        token: fc.constantFrom('zz', 'g', '-1', '0x5', ' 5', '', '5 5', '1_0', '+5', 'ffffffffffffffffffff', '\t3'),
      }),
      fc.record({ kind: fc.constant('longer' as const), extra: fc.integer({ min: 1, max: 10 }) }),
      fc.record({ kind: fc.constant('shorter' as const), extra: fc.integer({ min: 1, max: 10 }) }),
      fc.constant({ kind: 'nocrlf' as const }),
      fc.constant({ kind: 'lf-only' as const }),
      fc.constant({ kind: 'truncated' as const }),
      fc
        .constantFrom('nocolon', 'x y: z', ' lead: z', 'x\u0000: z')
        .map((line) => ({ kind: 'trailer' as const, line })),
      fc.integer({ min: 17_000, max: 30_000 }).map((n) => ({ kind: 'extension' as const, n })),
      fc.constant({ kind: 'cl+te' as const }),
      fc
        .constantFrom('identity', 'gzip', 'chunked, gzip', 'chunkedx', 'xchunked', 'chunked, chunked', 'deflate')
        .map((te) => ({ kind: 'te' as const, te })),
    ),
  })
  .map(({ attrs, chunks, at, breakage }) => {
    const i = at % chunks.length;
    const eol = breakage.kind === 'lf-only' ? '\n' : '\r\n';
    let body = '';
    chunks.forEach((data, j) => {
      let size = data.length.toString(16);
      let tail = eol;
      if (j === i && breakage.kind === 'size') size = breakage.token;
      if (j === i && breakage.kind === 'extension') size += `;ext=${'e'.repeat(breakage.n)}`;
      if (j === i && breakage.kind === 'nocrlf') tail = '';
      // More data than declared: the byte after the declared size is a letter where CRLF must be.
      if (j === i && breakage.kind === 'longer') {
        size = Math.max(1, data.length - 1).toString(16);
        data += 'q'.repeat(breakage.extra);
      }
      // Less data than declared on the last chunk: the parser eats into the terminator and never finds a whole one.
      if (j === chunks.length - 1 && breakage.kind === 'shorter') size = (data.length + breakage.extra).toString(16);
      body += `${size}${eol}${data}${tail}`;
    });
    body += breakage.kind === 'trailer' ? `0\r\n${breakage.line}\r\n\r\n` : `0${eol}${eol}`;
    if (breakage.kind === 'truncated') body = body.slice(0, at % body.length);
    const headers: HeaderList = [
      HOST,
      ...ceHeaders(attrs),
      ['Transfer-Encoding', breakage.kind === 'te' ? breakage.te : 'chunked'],
    ];
    if (breakage.kind === 'cl+te') headers.push(['Content-Length', String(body.length)]);
    return {
      category: 'chunked',
      expect: 'invalid' as const,
      halfClose: true,
      bytes: rawRequest('POST', TARGET, headers, Buffer.from(body, 'latin1'), 'none'),
    };
  });

/**
 * Broken Content-Length. The body is always a proper prefix of a JSON event in structured mode, so whatever length
 * a parser settles on, the event is invalid; EOF follows, so waiting for the rest is never the answer.
 */
export const contentLengthInvalid: fc.Arbitrary<FuzzCase> = fc
  .record({
    event: validObject,
    at: fc.nat(),
    length: fc.oneof(
      fc
        .constantFrom('abc', '-1', '+2', '1.5', '0x10', '1e3', '', ' ', '1 2', '99999999999999999999999', '2,2', '١٢')
        .map((v): string[] => [v]),
      fc.tuple(fc.nat({ max: 50 }), fc.nat({ max: 50 })).map(([a, b]): string[] => [String(a), String(b)]),
      fc.integer({ min: 1, max: 500 }).map((more): string[] => [`+${more}`]),
      fc.integer({ min: 1, max: 500 }).map((less): string[] => [`-${less}`]),
    ),
  })
  .map(({ event, at, length }) => {
    const text = JSON.stringify(event);
    const body = Buffer.from(text.slice(0, at % text.length));
    const values = length.map((v) => (/^[+-]\d+$/.test(v) ? String(Math.max(0, body.length + Number(v))) : v));
    const headers: HeaderList = [
      HOST,
      ['Content-Type', 'application/cloudevents+json'],
      ...values.map((v): [string, string] => ['Content-Length', v]),
    ];
    return {
      category: 'content-length',
      expect: 'invalid' as const,
      halfClose: true,
      bytes: rawRequest('POST', TARGET, headers, body, 'none'),
    };
  });

const badVersion = fc.constantFrom(
  'HTTP/1',
  'HTTP/1.2',
  'HTTP/3.0',
  'http/1.1',
  'HTTP/1.1x',
  'HTTP/11',
  'HTTP/',
  'HTTP',
  'HTTPS/1.1',
  'HTTP/1.1.1',
  'HTTP/a.b',
  '',
);

/** Garbage request lines: random bytes, bad versions, control bytes, missing parts. */
export const requestLineInvalid: fc.Arbitrary<FuzzCase> = fc
  .oneof(
    fc
      .uint8Array({ minLength: 1, maxLength: 120 })
      .map((a) => Buffer.from(a))
      // Bare CRLFs before a request line are allowed and EOF after them is a clean close: need one other byte.
      .filter((b) => !b.includes('HTTP/') && b.some((x) => x !== 0x0d && x !== 0x0a))
      .map((b) => Buffer.concat([b, Buffer.from('\r\n\r\n')])),
    fc
      .record({
        attrs: validAttrs,
        method: fc.constantFrom('POST', 'GET'),
        version: badVersion,
        sep: fc.constantFrom(' ', '\t'),
      })
      .map(({ attrs, method, version, sep }) => {
        const request = rawRequest(
          method,
          TARGET,
          [HOST, ...ceHeaders(attrs)],
          Buffer.alloc(0),
          'length',
          version,
        ).toString('latin1');
        return Buffer.from(request.replace(' ', sep), 'latin1');
      }),
    fc
      .record({ target: fc.constantFrom('', ' ', '/a b', '/\u0000', '/\u007f', '/x\ty', '/\u00ff\u00fe') })
      .map(({ target }) => Buffer.from(`POST ${target} HTTP/1.1\r\nHost: x\r\n\r\n`, 'latin1')),
    fc
      .constantFrom(
        'POST\r\n\r\n',
        'POST /default/default\r\n\r\n',
        ' POST /default/default HTTP/1.1\r\n\r\n',
        'POST /default/default HTTP/1.1\r\r\n\r\n',
      )
      .map((s) => Buffer.from(s)),
  )
  .map((bytes) => ({ category: 'request-line', expect: 'invalid' as const, halfClose: true, bytes }));

/** A valid event but for an HTTP-level rule Node enforces itself (no Host on HTTP/1.1, an unknown Expect). */
export const specialInvalid: fc.Arbitrary<FuzzCase> = fc
  .record({
    attrs: validAttrs,
    kind: fc.constantFrom('no-host', 'expect'),
    expectation: fc.oneof(fc.constantFrom('foo', '200-ok', '100-continued'), word),
  })
  .map(({ attrs, kind, expectation }) => {
    const headers: HeaderList =
      kind === 'no-host' ? ceHeaders(attrs) : [HOST, ['Expect', expectation], ...ceHeaders(attrs)];
    return {
      category: `special:${kind}`,
      expect: 'invalid' as const,
      bytes: rawRequest('POST', TARGET, headers, Buffer.alloc(0)),
    };
  });

const SPECIAL = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'content-type',
  'expect',
  'connection',
  'upgrade',
]);
const headerBytes = fc
  .uint8Array({ minLength: 1, maxLength: 40 })
  .map((a) => Buffer.from(a.filter((b) => b !== 0x0d && b !== 0x0a)));

/**
 * Random header lines (arbitrary bytes, missing colons, folding, spaces before the colon) on a request that lacks
 * `ce-id`, so it is invalid whether or not Node's parser lets the junk through.
 */
export const headerNoiseInvalid: fc.Arbitrary<FuzzCase> = fc
  .record({
    attrs: validAttrs,
    lines: fc.array(
      fc.tuple(
        fc.oneof(
          headerBytes,
          fc.stringMatching(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,20}$/).map((s) => Buffer.from(s)),
        ),
        fc.oneof(
          headerBytes,
          safe.map((s) => Buffer.from(s)),
        ),
        fc.constantFrom(': ', ':', ' : ', '', ' ', ':\t'),
        fc.boolean(),
      ),
      { minLength: 1, maxLength: 6 },
    ),
  })
  .map(({ attrs, lines }) => {
    const base = ceHeaders(attrs).filter(([k]) => k !== 'ce-id');
    const head = [Buffer.from(`POST ${TARGET} HTTP/1.1\r\nHost: 127.0.0.1\r\n`)];
    for (const [name, value] of base) head.push(Buffer.from(`${name}: ${String(value)}\r\n`));
    for (const [name, value, sep, fold] of lines) {
      const lower = name
        .toString('latin1')
        .toLowerCase()
        .replace(/^[\s:]+/, '');
      if (SPECIAL.has(lower.split(/[\s:]/)[0] ?? '') || lower.startsWith('ce-')) continue;
      head.push(fold ? Buffer.from(' ') : Buffer.alloc(0), name, Buffer.from(sep), value, Buffer.from('\r\n'));
    }
    return {
      category: 'header-noise',
      expect: 'invalid' as const,
      halfClose: true,
      bytes: Buffer.concat([...head, Buffer.from('Content-Length: 0\r\n\r\n')]),
    };
  });

/** Requests over HTTP/1.0 or with extra framing quirks that Node accepts: any answer but a 5xx. */
export const quirksMaybe: fc.Arbitrary<FuzzCase> = fc
  .record({
    attrs: validAttrs,
    version: fc.constantFrom('HTTP/1.0', 'HTTP/1.1'),
    lfOnly: fc.boolean(),
    query: fc.option(word, { nil: undefined }),
  })
  .map(({ attrs, version, lfOnly, query }) => {
    const raw = rawRequest(
      'POST',
      query ? `${TARGET}?${query}` : TARGET,
      [HOST, ...ceHeaders(attrs)],
      Buffer.from('{}'),
      'length',
      version,
    );
    return {
      category: 'quirks',
      expect: 'maybe' as const,
      halfClose: lfOnly,
      bytes: lfOnly ? Buffer.from(raw.toString('latin1').replaceAll('\r\n', '\n'), 'latin1') : raw,
    };
  });

export { specCase };
