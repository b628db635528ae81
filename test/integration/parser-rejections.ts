// One hand-written request per way Node's HTTP layer (llhttp, or Node itself before any handler runs) refuses a
// request, with the answer the ingress must give: a 4xx whose JSON body names the reason.

export interface Rejection {
  name: string;
  bytes: Buffer;
  /** Statuses that are right for it. */
  status: number[];
  /** Text the `error` message must contain (case-insensitive), e.g. the llhttp code. */
  reason: string;
  /** Half-close after writing so the server sees EOF. @defaultValue true */
  halfClose?: boolean;
}

const CE = 'ce-specversion: 1.0\r\nce-id: p1\r\nce-source: /parser\r\nce-type: t\r\n';
const HEAD = `POST /default/default HTTP/1.1\r\nHost: x\r\n${CE}`;
const b = (s: string) => Buffer.from(s, 'latin1');

export const REJECTIONS: Rejection[] = [
  {
    name: 'garbage request line',
    bytes: b('\u0000\u0001garbage\r\n\r\n'),
    status: [400],
    reason: 'HPE_INVALID_METHOD',
  },
  {
    name: 'unknown method',
    bytes: b('FOO /default/default HTTP/1.1\r\nHost: x\r\n\r\n'),
    status: [400],
    reason: 'HPE_INVALID_METHOD',
  },
  {
    name: 'bad HTTP version',
    bytes: b('POST /default/default HTTP/1.2\r\nHost: x\r\n\r\n'),
    status: [400],
    reason: 'HPE_INVALID_VERSION',
  },
  {
    name: 'byte 0xff in URL',
    bytes: b('POST /default/def\u00ff HTTP/1.1\r\nHost: x\r\n\r\n'),
    status: [400],
    reason: 'HPE_INVALID_URL',
  },
  {
    name: 'space in URL',
    bytes: b('POST /default/de fault HTTP/1.1\r\nHost: x\r\n\r\n'),
    status: [400],
    reason: 'HPE_',
  },
  {
    name: 'NUL in header value',
    bytes: b(`${HEAD}ce-x: a\u0000b\r\nContent-Length: 0\r\n\r\n`),
    status: [400],
    reason: 'HPE_INVALID_HEADER_TOKEN',
  },
  {
    name: 'space in header name',
    bytes: b(`${HEAD}ce x: a\r\nContent-Length: 0\r\n\r\n`),
    status: [400],
    reason: 'HPE_INVALID_HEADER_TOKEN',
  },
  {
    name: 'obsolete line folding',
    bytes: b(`${HEAD}ce-x: a\r\n b\r\nContent-Length: 0\r\n\r\n`),
    status: [400],
    reason: 'HPE_INVALID_HEADER_TOKEN',
  },
  { name: 'bare CR', bytes: b('POST /default/default HTTP/1.1\rHost: x\r\n\r\n'), status: [400], reason: 'HPE_' },
  {
    name: 'headers over 16 KiB',
    bytes: b(`${HEAD}x-big: ${'v'.repeat(20_000)}\r\n\r\n`),
    status: [431],
    reason: 'size limit',
  },
  {
    name: 'URL over 16 KiB',
    bytes: b(`POST /default/default?${'q'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`),
    status: [431, 414],
    reason: 'limit',
  },
  {
    name: 'trailer over 16 KiB',
    bytes: b(`${HEAD}Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\nx: ${'t'.repeat(20_000)}\r\n\r\n`),
    status: [431],
    reason: 'size limit',
  },
  {
    name: 'non-numeric Content-Length',
    bytes: b(`${HEAD}Content-Length: abc\r\n\r\n`),
    status: [400],
    reason: 'HPE_INVALID_CONTENT_LENGTH',
  },
  {
    name: 'two Content-Length headers',
    bytes: b(`${HEAD}Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}`),
    status: [400],
    reason: 'HPE_UNEXPECTED_CONTENT_LENGTH',
  },
  {
    name: 'Content-Length and chunked',
    bytes: b(`${HEAD}Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n`),
    status: [400],
    reason: 'HPE_',
  },
  {
    name: 'Transfer-Encoding gzip',
    bytes: b(`${HEAD}Transfer-Encoding: gzip\r\n\r\nabc`),
    status: [400],
    reason: 'HPE_INVALID_TRANSFER_ENCODING',
  },
  {
    name: 'bad chunk size',
    bytes: b(`${HEAD}Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n`),
    status: [400],
    reason: 'chunked',
  },
  {
    name: 'chunk longer than its size',
    bytes: b(`${HEAD}Transfer-Encoding: chunked\r\n\r\n2\r\nabcdef\r\n0\r\n\r\n`),
    status: [400],
    reason: 'HPE_',
  },
  {
    name: 'LF-only chunk framing',
    bytes: b(`${HEAD}Transfer-Encoding: chunked\r\n\r\n2\n{}\n0\n\n`),
    status: [400],
    reason: 'HPE_',
  },
  {
    name: 'chunk extension over the limit',
    bytes: b(`${HEAD}Transfer-Encoding: chunked\r\n\r\n2;a=${'x'.repeat(20_000)}\r\n{}\r\n0\r\n\r\n`),
    status: [400, 431],
    reason: 'HPE_CHUNK_EXTENSIONS_OVERFLOW',
  },
  {
    name: 'chunked body cut off',
    bytes: b(`${HEAD}Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n`),
    status: [400],
    reason: 'HPE_INVALID_EOF_STATE',
  },
  {
    name: 'body shorter than Content-Length',
    bytes: b(`${HEAD}Content-Length: 20\r\n\r\n{}`),
    status: [400],
    reason: 'HPE_INVALID_EOF_STATE',
  },
  { name: 'head cut off', bytes: b(HEAD), status: [400], reason: 'HPE_INVALID_EOF_STATE' },
  {
    name: 'HTTP/2 preface on HTTP/1',
    bytes: b('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
    status: [400, 505],
    reason: 'HTTP',
  },
  // Node answers these itself, outside the clientError path.
  {
    name: 'HTTP/1.1 without Host',
    bytes: b(`POST /default/default HTTP/1.1\r\n${CE}Content-Length: 0\r\n\r\n`),
    status: [400],
    reason: 'host',
    halfClose: false,
  },
  {
    name: 'unknown Expect',
    bytes: b(`${HEAD}Expect: foo\r\nContent-Length: 0\r\n\r\n`),
    status: [417, 400],
    reason: 'expect',
    halfClose: false,
  },
  {
    name: 'CONNECT',
    bytes: b('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n'),
    status: [405, 400],
    reason: 'CONNECT',
    halfClose: false,
  },
  // The router refuses these before the route handler runs.
  {
    name: 'broken percent-encoding in path',
    bytes: b(`POST /default/%E0%A4%A HTTP/1.1\r\nHost: x\r\n${CE}Content-Length: 0\r\n\r\n`),
    status: [400, 404],
    reason: '%E0%A4%A',
    halfClose: false,
  },
  {
    name: 'path parameter over 100 chars',
    bytes: b(`POST /default/${'d'.repeat(200)} HTTP/1.1\r\nHost: x\r\n${CE}Content-Length: 0\r\n\r\n`),
    status: [404, 414, 400],
    reason: 'd'.repeat(20),
    halfClose: false,
  },
];
