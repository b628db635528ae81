import { createInbox, type Msg, type NatsConnection, nanos, type Subscription } from 'nats';
import type { Connection } from './connection.ts';
import type { NatsLogger } from './options.ts';

const MAX_BACKOFF_MS = 5000;

/** Timing of pull requests. */
export interface PullSettings {
  /** Lifetime of one pull request. */
  pullExpiresMs: number;
  /** Idle heartbeat asked of the server; three missed ones mean the request is gone. */
  heartbeatMs: number;
}

/**
 * The pull side of one subscriber on a durable JetStream consumer.
 *
 * Pull requests together never ask for more than the room the subscriber has (`room()`); a further request tops
 * up what is outstanding once a quarter of the room is free (see `pull`). So the server never pushes more than the
 * subscriber may hold, and an idle subscriber gets a new event as soon as it is stored (the
 * request waits on the server). After a reconnect the request is asked afresh (a restarted server forgot it);
 * a request that goes silent (no events, no heartbeats) is replaced; a consumer or stream that is missing, or any
 * other refusal, is retried with a growing delay (100 ms → 5 s).
 */
export class Puller {
  readonly #connection: Connection;
  readonly #settings: PullSettings;
  readonly #room: () => number;
  readonly #onDelivery: (msg: Msg) => void;
  readonly #logger: NatsLogger;
  readonly #nextSubject: string;
  readonly #inbox = createInbox();
  #nc: NatsConnection | undefined;
  #sub: Subscription | undefined;
  /** Messages asked for by the outstanding pull requests and not received yet. */
  #requested = 0;
  /** The most room the subscriber ever had (its limit), for the top-up threshold. */
  #mostRoom = 1;
  #lastHeard = Date.now();
  #backoffMs = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  readonly #watchdog: NodeJS.Timeout;
  readonly #unlisten: () => void;
  #stopped = false;
  /** Acknowledgements waiting for the end of this turn of the event loop. */
  #outgoing: [subject: string, body: Uint8Array][] = [];

  constructor(
    connection: Connection,
    stream: string,
    durable: string,
    settings: PullSettings,
    room: () => number,
    onDelivery: (msg: Msg) => void,
    logger: NatsLogger,
  ) {
    this.#connection = connection;
    this.#settings = settings;
    this.#room = room;
    this.#onDelivery = onDelivery;
    this.#logger = logger;
    this.#nextSubject = `$JS.API.CONSUMER.MSG.NEXT.${stream}.${durable}`;
    this.#unlisten = connection.onChange((change) => {
      if (change === 'up') this.#restart();
    });
    this.#watchdog = setInterval(() => this.#watch(), settings.heartbeatMs);
    this.#watchdog.unref();
    this.#restart();
  }

  /**
   * Asks for as many more events as there is room for beyond what is already asked. While a request is still
   * outstanding, a further one is sent only once a quarter of the subscriber's room is free: a request per freed
   * slot would cost a round trip each, while waiting for the outstanding one to be used up first halved
   * throughput with handlers that take a few milliseconds.
   */
  pull(): void {
    if (this.#stopped || this.#retryTimer !== undefined) return;
    const nc = this.#connection.clients?.nc;
    if (nc === undefined || nc !== this.#nc) return;
    const free = this.#room();
    this.#mostRoom = Math.max(this.#mostRoom, free);
    const room = free - this.#requested;
    if (room <= 0) return;
    if (this.#requested > 0 && room < Math.ceil(this.#mostRoom / 4)) return;
    this.#requested += room;
    this.#lastHeard = Date.now();
    const { pullExpiresMs, heartbeatMs } = this.#settings;
    const request = { batch: room, expires: nanos(pullExpiresMs), idle_heartbeat: nanos(heartbeatMs) };
    try {
      nc.publish(this.#nextSubject, JSON.stringify(request), { reply: this.#inbox });
    } catch (err) {
      this.#requested = 0;
      this.#retryLater(err);
    }
  }

  /** Publishes an acknowledgement (or NAK, WPI, TERM) on the connection the events came from. */
  send(subject: string, body: Uint8Array): void {
    // Handlers settle one per turn of the event loop (each on its own HTTP answer); sending their acknowledgements
    // together at the end of the turn makes one socket write of them instead of one each.
    if (this.#outgoing.push([subject, body]) === 1) setImmediate(this.#flush);
  }

  readonly #flush = (): void => {
    const outgoing = this.#outgoing;
    this.#outgoing = [];
    for (const [subject, body] of outgoing) {
      try {
        this.#nc?.publish(subject, body);
      } catch (err) {
        this.#logger.warn({ subject, err: (err as Error).message }, 'nats acknowledgement not sent');
      }
    }
  };

  /**
   * Stops asking. Draining sends UNSUB — the server then drops our pull request — and still passes on what was
   * already on its way; resolves when that is done (or after `maxWaitMs`).
   */
  async stop(maxWaitMs: number): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#flush();
    clearInterval(this.#watchdog);
    clearTimeout(this.#retryTimer);
    this.#unlisten();
    const drained = this.#sub?.drain().catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([drained, new Promise((resolve) => (timer = setTimeout(resolve, maxWaitMs)))]);
    clearTimeout(timer);
  }

  /** (Re)subscribes the inbox on the current client and asks afresh (new connection, or a restarted server). */
  #restart(): void {
    if (this.#stopped) return;
    const nc = this.#connection.clients?.nc;
    if (nc === undefined) return;
    if (nc !== this.#nc) {
      this.#nc = nc;
      this.#sub = nc.subscribe(this.#inbox, { callback: (err, msg) => this.#onMessage(err, msg) });
    }
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#backoffMs = 0;
    this.#requested = 0;
    this.pull();
  }

  #retryLater(reason: unknown): void {
    if (this.#stopped || this.#retryTimer !== undefined) return;
    this.#backoffMs = Math.min(MAX_BACKOFF_MS, Math.max(100, this.#backoffMs * 2));
    if (this.#backoffMs >= MAX_BACKOFF_MS) {
      this.#logger.warn({ subject: this.#nextSubject, reason: String(reason) }, 'nats pull keeps failing');
    }
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.pull();
    }, this.#backoffMs);
  }

  #onMessage(err: Error | null, msg: Msg): void {
    this.#lastHeard = Date.now();
    if (err !== null) {
      this.#logger.warn({ subject: this.#nextSubject, err: err.message }, 'nats pull subscription failed');
      return;
    }
    if (msg.subject === this.#inbox) {
      this.#onStatus(msg);
      return;
    }
    if (this.#requested > 0) this.#requested--;
    this.#backoffMs = 0;
    this.#onDelivery(msg);
    this.pull();
  }

  #onStatus(msg: Msg): void {
    const code = msg.headers?.code ?? 0;
    if (code === 100) return;
    // Any other status ends a request: 408 it expired; 409 consumer deleted / too many waiting / leadership
    // change; 404 or 503 nobody serves that consumer (deleted, or JetStream still starting). The server says how
    // many of its messages were never sent; without that, nothing is counted as still asked.
    const unsent = Number(msg.headers?.get('Nats-Pending-Messages'));
    this.#requested = Number.isFinite(unsent) && unsent > 0 ? Math.max(0, this.#requested - unsent) : 0;
    if (code === 408) this.pull();
    else this.#retryLater(`${code} ${msg.headers?.description ?? ''}`);
  }

  #watch(): void {
    if (this.#requested > 0 && Date.now() - this.#lastHeard > 3 * this.#settings.heartbeatMs) this.#requested = 0;
    this.pull();
  }
}
