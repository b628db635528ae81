import { connect } from 'node:net';

/** What came back for one raw request. */
export interface RawAnswer {
  /** HTTP status, or `undefined` when the server closed (or the timeout hit) before a full status line arrived. */
  status: number | undefined;
  /** Response headers, names lower-cased (later duplicates win). */
  headers: Record<string, string>;
  /** Response body (Content-Length or chunked framing; whatever arrived before close otherwise). */
  body: Buffer;
  /** How the exchange ended: a complete answer, the server closing first, a socket error, or our timeout. */
  end: 'answer' | 'closed' | 'error' | 'timeout';
  /** Socket error code, when `end` is `'error'` (or an error followed a complete answer). */
  errorCode?: string;
}

/** Options of {@link sendRaw}. */
export interface SendRawOptions {
  /**
   * Half-close our side after writing, so the server sees EOF (for truncated requests it would otherwise wait for).
   * @defaultValue false
   */
  halfClose?: boolean;
  /**
   * The request was HEAD, so the answer has no body whatever its Content-Length says.
   * @defaultValue false
   */
  head?: boolean;
  /**
   * Give up after this long without a complete answer.
   * @defaultValue 5000
   */
  timeoutMs?: number;
}

const CRLFCRLF = Buffer.from('\r\n\r\n');

interface Parsed {
  answer: Omit<RawAnswer, 'end'>;
  /** Its body framing is satisfied. */
  complete: boolean;
  /** Bytes of `input` this answer took (interim answers included), when complete. */
  used: number;
}

/** Parses as much of one response as `input` holds. */
function parse(input: Buffer, head: boolean): Parsed | undefined {
  let start = 0;
  let headEnd = input.indexOf(CRLFCRLF);
  let match = /^HTTP\/1\.[01] (\d{3})/.exec(input.toString('latin1', 0, 16));
  // Interim answers (100 Continue) come before the real one: skip them.
  while (headEnd !== -1 && match && match[1]!.startsWith('1')) {
    start = headEnd + 4;
    headEnd = input.indexOf(CRLFCRLF, start);
    match = /^HTTP\/1\.[01] (\d{3})/.exec(input.toString('latin1', start, start + 16));
  }
  if (headEnd === -1 || !match) return undefined;
  const lines = input.subarray(start, headEnd).toString('latin1').split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const bodyStart = headEnd + 4;
  const rest = input.subarray(bodyStart);
  const status = Number(match[1]);
  if (head || status === 204 || status === 304)
    return { answer: { status, headers, body: Buffer.alloc(0) }, complete: true, used: bodyStart };
  if (headers['content-length'] !== undefined) {
    const length = Number(headers['content-length']);
    return {
      answer: { status, headers, body: rest.subarray(0, length) },
      complete: rest.length >= length,
      used: bodyStart + length,
    };
  }
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
    const chunks: Buffer[] = [];
    let at = 0;
    for (;;) {
      const lineEnd = rest.indexOf('\r\n', at);
      const size = lineEnd === -1 ? NaN : parseInt(rest.subarray(at, lineEnd).toString('latin1'), 16);
      const done = size === 0 && rest.length >= lineEnd + 4;
      if (done || Number.isNaN(size) || rest.length < lineEnd + 2 + size + 2) {
        return {
          answer: { status, headers, body: Buffer.concat(chunks) },
          complete: done,
          used: bodyStart + lineEnd + 4,
        };
      }
      chunks.push(rest.subarray(lineEnd + 2, lineEnd + 2 + size));
      at = lineEnd + 2 + size + 2;
    }
  }
  // No framing: the body runs to the close.
  return { answer: { status, headers, body: rest }, complete: false, used: input.length };
}

/** Every complete response in `bytes`, in order (for pipelined requests). */
export function parseAll(bytes: Buffer): Omit<RawAnswer, 'end'>[] {
  const out: Omit<RawAnswer, 'end'>[] = [];
  let rest = bytes;
  for (let p = parse(rest, false); p?.complete; p = parse(rest, false)) {
    out.push(p.answer);
    rest = rest.subarray(p.used);
  }
  return out;
}

/** Writes `bytes` to a fresh connection and returns everything the server sent until it closed (or `waitMs`). */
export function exchange(port: number, bytes: Buffer, waitMs = 2000): Promise<Buffer> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(Buffer.concat(chunks));
    };
    const timer = setTimeout(done, waitMs);
    socket.on('connect', () => socket.write(bytes));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', done);
    socket.on('close', done);
  });
}

/**
 * Writes `bytes` as-is to a fresh TCP connection and reads one HTTP/1.x response: the way to send what an HTTP
 * client library refuses to produce (broken header bytes, bad chunking, garbage request lines).
 */
export function sendRaw(port: number, bytes: Buffer, options: SendRawOptions = {}): Promise<RawAnswer> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const head = options.head ?? false;
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    let received = Buffer.alloc(0);
    let settled = false;
    let errorCode: string | undefined;
    const finish = (end: RawAnswer['end']) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const parsed = parse(received, head);
      if (parsed && (parsed.complete || end !== 'answer')) {
        resolve({ ...parsed.answer, end: parsed.complete ? 'answer' : end, ...(errorCode ? { errorCode } : {}) });
      } else {
        resolve({ status: undefined, headers: {}, body: received, end, ...(errorCode ? { errorCode } : {}) });
      }
    };
    const timer = setTimeout(() => finish('timeout'), timeoutMs);
    socket.on('connect', () => {
      // The server may answer and close before we finish writing (header overflow); that EPIPE is not our result.
      socket.write(bytes, () => {
        if (options.halfClose) socket.end();
      });
    });
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (parse(received, head)?.complete) finish('answer');
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      errorCode = err.code;
      finish(parse(received, head)?.complete ? 'answer' : 'error');
    });
    socket.on('end', () => finish(parse(received, head)?.complete ? 'answer' : 'closed'));
    socket.on('close', () => finish(parse(received, head)?.complete ? 'answer' : 'closed'));
  });
}
