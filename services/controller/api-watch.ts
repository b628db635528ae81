import type { FastifyReply } from 'fastify';
import { type StatusTarget, statusFromError } from './api-status.ts';
import type { KindInfo } from './resources/kinds.ts';
import type { Selector } from './selectors.ts';
import type { ResourceStore, WatchEvent } from './store.ts';

export interface WatchRequest {
  info: KindInfo;
  namespace: string | undefined;
  resourceVersion: string | undefined;
  /** Ends the stream after this many seconds (Kubernetes `timeoutSeconds`). */
  timeoutSeconds: number | undefined;
  selector: Selector;
  target: StatusTarget;
  /** Open streams, so the server can end them when it closes (a hijacked response would hold it open). */
  open: Set<() => void>;
}

/**
 * Streams a watch as Kubernetes does: newline-delimited JSON `{type, object}`, HTTP 200 first; a failure after
 * that (e.g. a resourceVersion too old, 410) is sent as an `ERROR` event carrying a Status, then the stream ends.
 */
export async function streamWatch(store: ResourceStore, reply: FastifyReply, req: WatchRequest): Promise<void> {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'application/json',
    'cache-control': 'no-cache, private',
    'transfer-encoding': 'chunked',
  });
  // Headers go out now, so a client sees the watch is open before the first change.
  res.flushHeaders();
  let ended = false;
  let timer: NodeJS.Timeout | undefined;
  let handle: { close(): void } | undefined;
  const end = () => {
    if (ended) return;
    ended = true;
    req.open.delete(end);
    handle?.close();
    if (timer !== undefined) clearTimeout(timer);
    res.end();
  };
  const send = (event: { type: string; object: unknown }) => {
    if (!ended) res.write(`${JSON.stringify(event)}\n`);
  };
  res.on('close', end);
  req.open.add(end);
  try {
    handle = await store.watch(
      req.info.kind,
      (event: WatchEvent) => {
        if (req.selector(event.object)) send(event);
      },
      {
        ...(req.namespace === undefined ? {} : { namespace: req.namespace }),
        ...(req.resourceVersion === undefined ? {} : { resourceVersion: req.resourceVersion }),
        onError: (err) => {
          send({ type: 'ERROR', object: statusFromError(err, req.target) });
          end();
        },
      },
    );
  } catch (err) {
    send({ type: 'ERROR', object: statusFromError(err, req.target) });
    end();
    return;
  }
  if (ended) handle.close();
  else if (req.timeoutSeconds !== undefined && req.timeoutSeconds > 0) {
    timer = setTimeout(end, req.timeoutSeconds * 1000);
    timer.unref();
  }
}
