/**
 * The function gateway: `http://127.0.0.1:8081/{ns}/{name}/...` (DESIGN §5 "Addresses"), the HTTP face of the
 * activator. It only parses the request line, checks the body size and hands the request to the activator, which
 * balances it over ready replicas (or buffers it while there are none) and relays the answer.
 *
 * It sits on the hot path of every HTTP call to a function, so it is a raw node:http server with no framework;
 * the in-process path (the router in the embedded platform) calls the activator directly and skips it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Activator, errorResponse } from '../activator/activator.ts';
import { ElasticServingError } from '../core/errors.ts';

export interface GatewayOptions {
  activator: Pick<Activator, 'forward' | 'has'>;
  /** @defaultValue 8081 */
  port?: number;
  /** @defaultValue '127.0.0.1' */
  host?: string;
  /** Largest request body forwarded; larger answers 413. @defaultValue 33554432 */
  maxBodyBytes?: number;
}

export interface Gateway {
  readonly url: string;
  readonly port: number;
  readonly server: Server;
  close(): Promise<void>;
}

const DROPPED_RESPONSE_HEADERS = new Set(['connection', 'keep-alive', 'transfer-encoding']);

function sendError(res: ServerResponse, err: unknown, closeConnection = false): void {
  if (res.headersSent) return;
  const r = errorResponse(err);
  if (closeConnection) r.headers.connection = 'close';
  res.writeHead(r.statusCode, r.headers);
  res.end(r.body);
}

export async function createGateway(options: GatewayOptions): Promise<Gateway> {
  const { activator } = options;
  const maxBody = options.maxBodyBytes ?? 32 * 1024 * 1024;
  const tooLarge = () => new ElasticServingError('ES_ERR_BODY_TOO_LARGE', `request body larger than ${maxBody} bytes`);

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url ?? '/';
    // /{ns}/{name}[/rest][?query]
    const second = url.indexOf('/', 1);
    const third = second === -1 ? -1 : url.indexOf('/', second + 1);
    const query = url.indexOf('?');
    const nameEnd = [third, query].filter((i) => i > second).reduce((a, b) => Math.min(a, b), url.length);
    if (second <= 1 || nameEnd <= second + 1) {
      sendError(res, new ElasticServingError('ES_ERR_NOT_FOUND', 'use /{namespace}/{function}/…'));
      req.resume();
      return;
    }
    const namespace = decodeURIComponent(url.slice(1, second));
    const name = decodeURIComponent(url.slice(second + 1, nameEnd));
    let path = url.slice(nameEnd);
    if (path === '' || path.startsWith('?')) path = `/${path}`;
    if (!activator.has(namespace, name)) {
      sendError(res, new ElasticServingError('ES_ERR_NOT_FOUND', `no function ${namespace}/${name}`));
      req.resume();
      return;
    }
    if (Number(req.headers['content-length']) > maxBody) {
      sendError(res, tooLarge(), true);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let rejected = false;
    req.on('data', (c: Buffer) => {
      if (rejected) return;
      size += c.length;
      if (size > maxBody) {
        rejected = true;
        sendError(res, tooLarge(), true);
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (rejected) return;
      const aborter = new AbortController();
      res.once('close', () => {
        if (!res.writableFinished) aborter.abort();
      });
      const body = size === 0 ? undefined : chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
      activator
        .forward(
          namespace,
          name,
          {
            method: req.method ?? 'GET',
            path,
            headers: req.headers,
            ...(body ? { body } : {}),
            signal: aborter.signal,
          },
          async (status, headers, upstream, done) => {
            const out: Record<string, string | string[]> = {};
            for (const k in headers) {
              const v = headers[k];
              if (v !== undefined && !DROPPED_RESPONSE_HEADERS.has(k)) out[k] = v;
            }
            try {
              res.writeHead(status, out);
              for await (const chunk of upstream) res.write(chunk);
              res.end();
            } finally {
              done();
            }
          },
        )
        .catch((err: unknown) => {
          if (!res.headersSent) sendError(res, err);
          else res.destroy();
        });
    });
  };

  const server = createServer(handle);
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8081, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 1000).unref();
      }),
  };
}
