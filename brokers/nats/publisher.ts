import { createInbox, type Msg, type MsgHdrs, type NatsConnection } from 'nats';

/** A JetStream refusal, shaped like nats.js's errors so `errors.ts` classifies both alike. */
export class PublishError extends Error {
  readonly code: string | undefined;
  readonly api_error: { code?: number; err_code?: number; description?: string } | undefined;

  constructor(message: string, code?: string, apiError?: PublishError['api_error']) {
    super(message);
    this.name = 'PublishError';
    this.code = code;
    this.api_error = apiError;
  }
}

interface Waiting {
  resolve: () => void;
  reject: (err: Error) => void;
  deadline: number;
}

/**
 * Publishes to JetStream and waits for the stream's acknowledgement, over one connection.
 *
 * nats.js's `js.publish` makes a request per message, and each request builds a `NatsError` with a stack when it
 * settles (for the cancellation it never reports), plus a timer and a deferred: measured at a fifth of the
 * platform's CPU per event on the NATS ingress. Here every publish carries a reply subject under one wildcard
 * inbox subscription; answers are matched by a counter, and one sweeper times out what the server never answered.
 * Errors are built only for failures.
 */
export class JetStreamPublisher {
  readonly #nc: NatsConnection;
  readonly #timeoutMs: number;
  readonly #prefix = `${createInbox()}.`;
  readonly #waiting = new Map<number, Waiting>();
  readonly #sweeper: NodeJS.Timeout;
  #next = 0;

  constructor(nc: NatsConnection, timeoutMs: number) {
    this.#nc = nc;
    this.#timeoutMs = timeoutMs;
    nc.subscribe(`${this.#prefix}*`, { callback: (err, msg) => this.#onAnswer(err, msg) });
    this.#sweeper = setInterval(() => this.#sweep(), Math.min(250, Math.max(10, timeoutMs / 4)));
    this.#sweeper.unref();
    nc.closed().then(() => {
      clearInterval(this.#sweeper);
      this.#failAll(new PublishError('the NATS connection closed', 'CONNECTION_CLOSED'));
    });
  }

  /** Publishes `payload` with the raw header block `headers` (see `codec.ts`); resolves once the stream stored it. */
  publish(subject: string, headers: Uint8Array, payload: Uint8Array): Promise<void> {
    const id = ++this.#next;
    return new Promise<void>((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject, deadline: Date.now() + this.#timeoutMs });
      try {
        // nats.js asks a header object for nothing but its encoding when it publishes.
        this.#nc.publish(subject, payload, {
          reply: this.#prefix + id,
          headers: { encode: () => headers } as unknown as MsgHdrs,
        });
      } catch (err) {
        this.#waiting.delete(id);
        reject(err as Error);
      }
    });
  }

  #onAnswer(err: Error | null, msg: Msg): void {
    if (err !== null) {
      this.#failAll(err);
      return;
    }
    const id = Number(msg.subject.slice(this.#prefix.length));
    const waiting = this.#waiting.get(id);
    if (waiting === undefined) return;
    this.#waiting.delete(id);
    if (msg.data.length === 0) {
      // A status message: 503 means no stream captures the subject (or JetStream is not up).
      const code = msg.headers?.code ?? 0;
      waiting.reject(new PublishError(code === 503 ? 'no responders' : `status ${code}`, String(code)));
      return;
    }
    let answer: { error?: { code?: number; err_code?: number; description?: string } };
    try {
      answer = JSON.parse(msg.string());
    } catch {
      waiting.reject(new PublishError(`unreadable JetStream acknowledgement: ${msg.string().slice(0, 200)}`));
      return;
    }
    if (answer.error !== undefined) {
      waiting.reject(new PublishError(answer.error.description ?? 'JetStream refused it', undefined, answer.error));
    } else {
      waiting.resolve();
    }
  }

  #sweep(): void {
    const now = Date.now();
    for (const [id, waiting] of this.#waiting) {
      // Entries are in publish order, so deadlines only grow from here.
      if (waiting.deadline > now) break;
      this.#waiting.delete(id);
      waiting.reject(new PublishError(`no JetStream acknowledgement within ${this.#timeoutMs} ms`, 'TIMEOUT'));
    }
  }

  #failAll(err: Error): void {
    for (const waiting of this.#waiting.values()) waiting.reject(err);
    this.#waiting.clear();
  }
}
