import { StringDecoder } from 'node:string_decoder';
import { ResourceExpiredError } from './errors.ts';
import { type ControlApiHttp, errorFromAnswer } from './remote-http.ts';
import type { Resource } from './resources/types.ts';
import type { ResourceList, WatchEvent, WatchHandle, WatchListener } from './store.ts';

/** What a watch needs from its store: a list, and the path of the kind's collection. */
export interface WatchSource {
  http: ControlApiHttp;
  /** `/apis/{group}/{version}[/namespaces/{ns}]/{plural}` */
  collection: string;
  list(): Promise<ResourceList>;
}

export interface RemoteWatchOptions {
  /** Resume after this version instead of listing first. */
  resourceVersion: string | undefined;
  /** Told about listener exceptions (the watch itself heals, so it never reports a break). */
  onError: ((err: Error) => void) | undefined;
  /** First reconnect delay; doubles per consecutive failure. */
  reconnectInitialMs: number;
  reconnectMaxMs: number;
  /** Asked of the server per watch request, so a connection that died silently is noticed within it. */
  watchTimeoutSeconds: number;
  /** Told about every break and reconnect. */
  onBreak: ((err: Error, retryInMs: number) => void) | undefined;
}

function keyOf(obj: Resource): string {
  return `${obj.metadata.namespace ?? 'default'}/${obj.metadata.name}`;
}

/** Thrown inside the read loop when the server says our resourceVersion is too old. */
class Expired extends Error {}

/**
 * One watch over HTTP that survives the control API going away: it remembers the last resourceVersion it saw and
 * resumes from it, and when that version has left the server's history (410, e.g. after a controller restart) it
 * lists again and sends the difference (ADDED/MODIFIED/DELETED) to the listener, as a Kubernetes informer does.
 */
export class RemoteWatch implements WatchHandle {
  private readonly known = new Map<string, Resource>();
  private lastRv = '';
  private closed = false;
  private failures = 0;
  private abort: AbortController | undefined;
  private timer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly source: WatchSource,
    private readonly listener: WatchListener,
    private readonly options: RemoteWatchOptions,
  ) {}

  /** Lists (or resumes) and opens the stream; rejects when that first step fails, as a local store's watch does. */
  async start(): Promise<void> {
    const from = this.options.resourceVersion;
    try {
      if (from === undefined || from === '' || from === '0') await this.relist();
      else this.lastRv = from;
      const body = await this.open();
      void this.run(body);
    } catch (err) {
      this.close();
      throw err;
    }
  }

  close(): void {
    this.closed = true;
    this.abort?.abort();
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.wake?.();
  }

  private emit(event: WatchEvent): void {
    if (this.closed) return;
    try {
      this.listener(event);
    } catch (err) {
      this.options.onError?.(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private track(event: WatchEvent): void {
    const key = keyOf(event.object);
    if (event.type === 'DELETED') this.known.delete(key);
    else this.known.set(key, event.object);
    this.lastRv = event.object.metadata.resourceVersion ?? this.lastRv;
    this.emit(event);
  }

  /** Lists, and sends whatever differs from what the listener has seen. */
  private async relist(): Promise<void> {
    const { items, resourceVersion } = await this.source.list();
    const current = new Map(items.map((o) => [keyOf(o), o]));
    for (const [key, gone] of [...this.known]) {
      if (!current.has(key)) this.track({ type: 'DELETED', object: gone });
    }
    for (const [key, obj] of current) {
      const seen = this.known.get(key);
      if (seen === undefined) this.track({ type: 'ADDED', object: obj });
      else if (seen.metadata.resourceVersion !== obj.metadata.resourceVersion) {
        this.track({ type: 'MODIFIED', object: obj });
      }
    }
    this.lastRv = resourceVersion;
  }

  private async open(): Promise<AsyncIterable<Buffer>> {
    this.abort = new AbortController();
    const query = `watch=true&resourceVersion=${encodeURIComponent(this.lastRv)}&timeoutSeconds=${this.options.watchTimeoutSeconds}`;
    const res = await this.source.http.stream(`${this.source.collection}?${query}`, this.abort.signal);
    if (res.statusCode !== 200) {
      const text = await res.body.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // keep the text
      }
      throw errorFromAnswer(res.statusCode, body);
    }
    // Past the deadline the server should have ended the stream; if nothing did, the connection died unnoticed.
    const deadline = setTimeout(() => this.abort?.abort(), (this.options.watchTimeoutSeconds + 15) * 1000);
    deadline.unref();
    res.body.once('close', () => clearTimeout(deadline));
    return res.body;
  }

  private async read(body: AsyncIterable<Buffer>): Promise<void> {
    const decoder = new StringDecoder('utf8');
    let pending = '';
    for await (const chunk of body) {
      pending += decoder.write(chunk);
      let newline = pending.indexOf('\n');
      while (newline !== -1) {
        const line = pending.slice(0, newline).trim();
        pending = pending.slice(newline + 1);
        newline = pending.indexOf('\n');
        if (line === '') continue;
        const event = JSON.parse(line) as { type: string; object: Resource & { code?: number; message?: string } };
        if (event.type === 'ERROR') {
          if (event.object.code === 410) throw new Expired(String(event.object.message));
          throw errorFromAnswer(event.object.code ?? 500, event.object);
        }
        if (event.type === 'BOOKMARK') this.lastRv = event.object.metadata.resourceVersion ?? this.lastRv;
        else if (event.type === 'ADDED' || event.type === 'MODIFIED' || event.type === 'DELETED') {
          this.track({ type: event.type, object: event.object });
        }
      }
    }
  }

  /** Reads streams until closed: an ended stream resumes at once, a broken one after a backoff. */
  private async run(first: AsyncIterable<Buffer>): Promise<void> {
    let body: AsyncIterable<Buffer> | undefined = first;
    while (!this.closed) {
      try {
        if (body === undefined) {
          body = await this.open();
          this.failures = 0;
        }
        await this.read(body);
        body = undefined;
      } catch (err) {
        body = undefined;
        if (this.closed) return;
        if (err instanceof Expired || err instanceof ResourceExpiredError) {
          try {
            await this.relist();
            continue;
          } catch (listErr) {
            await this.pause(listErr);
            continue;
          }
        }
        await this.pause(err);
      }
    }
  }

  private pause(err: unknown): Promise<void> {
    this.failures += 1;
    const { reconnectInitialMs: initial, reconnectMaxMs: max } = this.options;
    const ms = Math.min(max, initial * 2 ** Math.min(20, this.failures - 1));
    this.options.onBreak?.(err instanceof Error ? err : new Error(String(err)), ms);
    return new Promise((resolve) => {
      this.wake = resolve;
      this.timer = setTimeout(resolve, ms);
      this.timer.unref();
    });
  }
}
