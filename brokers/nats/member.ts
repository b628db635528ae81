import { type Msg, nanos } from 'nats';
import { attributeString, type CloudEvent, EXT_PARTITION_KEY } from '../../services/core/cloudevent.ts';
import type { EventHandler } from '../contract.ts';
import type { KeyLanes } from '../key-lanes.ts';
import { decodeMessage, parseAckSubject } from './codec.ts';
import type { Connection } from './connection.ts';
import type { NatsLogger } from './options.ts';
import { Puller, type PullSettings } from './puller.ts';

const ACK = new TextEncoder().encode('+ACK');
const NAK = new TextEncoder().encode('-NAK');
const WORKING = new TextEncoder().encode('+WPI');
const TERM = new TextEncoder().encode('+TERM');

/** How one subscriber takes and settles events. */
export interface MemberSettings extends PullSettings {
  ordered: boolean;
  maxInFlight: number;
  /** How long this member may hold an event before it is given to another (the contract's ack wait). */
  ackWaitMs: number;
  /** The consumer's `ack_wait` on the server: at most `ackWaitMs`; held events are kept alive within it. */
  serverAckWaitMs: number;
  redeliveryDelayMs: number;
  /** Ordered: deliveries set aside behind busy keys, beyond `maxInFlight`. */
  readAhead: number;
}

/** One event this member took from the consumer and has not finished with. */
export interface Delivery {
  readonly owner: PullMember;
  readonly reply: string;
  readonly position: string;
  /** Deliveries the server counts (1 = first). */
  readonly delivered: number;
  readonly event: CloudEvent;
  readonly key: string | undefined;
  /** Local re-runs after a rejection (ordered mode retries in place to keep its key's order). */
  retries: number;
  state: 'waiting' | 'running' | 'retrying' | 'done';
  holdsKey: boolean;
  /** When the current run must have settled (its start plus `ackWaitMs`). */
  deadline: number;
  /** When the server's ack timer was last (re)started for it. */
  touchedAt: number;
  /** Bumped on every run, so a superseded run's outcome is ignored. */
  run: number;
  timer: NodeJS.Timeout | undefined;
}

/**
 * One subscriber of a group: takes events from its `Puller` (room: `maxInFlight`, plus `readAhead` when ordered,
 * minus what it holds) and runs the handler on them.
 *
 * Settlement: resolve → `+ACK`; reject → `-NAK` with `redeliveryDelayMs` (unordered), or a local re-run after the
 * delay while the key stays held (ordered: a NAK would let the key's next event overtake).
 *
 * Keep-alive: the server's ack wait (`serverAckWaitMs`) may be shorter than the contract's `ackWaitMs`, so that a
 * dead process's events come back soon. Everything this member holds gets `+WPI` every third of the server's ack
 * wait: deliveries set aside (behind a busy key, waiting for a slot or a re-run) always, running ones until their
 * `ackWaitMs` is up — after that the run is abandoned locally and the server gives the event to another member.
 */
export class PullMember {
  readonly #handler: EventHandler;
  readonly #settings: MemberSettings;
  readonly #lanes: KeyLanes<Delivery> | undefined;
  readonly #logger: NatsLogger;
  readonly #puller: Puller;
  readonly #nak: Uint8Array;
  #held = 0;
  #running = 0;
  /** Handler calls not settled yet, superseded ones included: what `close` waits for. */
  #calls = 0;
  readonly #ready: Delivery[] = [];
  readonly #setAside = new Set<Delivery>();
  readonly #runningSet = new Set<Delivery>();
  readonly #ticker: NodeJS.Timeout;
  #closing: Promise<void> | undefined;
  /** Set as `close` starts (before its first await), so nothing new starts from then on. */
  #stopping = false;
  #onIdle: (() => void) | undefined;

  constructor(
    connection: Connection,
    stream: string,
    durable: string,
    handler: EventHandler,
    settings: MemberSettings,
    lanes: KeyLanes<Delivery> | undefined,
    logger: NatsLogger,
  ) {
    this.#handler = handler;
    this.#settings = settings;
    this.#lanes = lanes;
    this.#logger = logger;
    this.#nak = nakWithDelay(settings.redeliveryDelayMs);
    this.#ticker = setInterval(() => this.#keepAlive(), Math.max(20, Math.floor(settings.serverAckWaitMs / 4)));
    this.#ticker.unref();
    const limit = settings.ordered ? settings.maxInFlight + settings.readAhead : settings.maxInFlight;
    this.#puller = new Puller(
      connection,
      stream,
      durable,
      settings,
      () => limit - this.#held,
      (msg) => this.#onDelivery(msg),
      logger,
    );
  }

  /**
   * Stops taking events; waits up to `graceMs` for running handlers, then hands every unfinished delivery back
   * to the group with a NAK (`handBack` false: the consumer is gone, so nothing is sent).
   */
  close(graceMs: number, handBack = true): Promise<void> {
    if (this.#closing === undefined) {
      this.#stopping = true;
      this.#closing = this.#close(graceMs, handBack);
    }
    return this.#closing;
  }

  async #close(graceMs: number, handBack: boolean): Promise<void> {
    clearInterval(this.#ticker);
    // What is still on its way arrives while this runs and is handed back in #onDelivery.
    const stopped = this.#puller.stop(Math.max(graceMs, 100));
    const parked = this.#lanes?.remove((d) => d.owner === this) ?? [];
    for (const d of parked) this.#giveBack(d, handBack);
    for (const d of [...this.#setAside]) this.#giveBack(d, handBack);
    await this.#idle(graceMs);
    for (const d of [...this.#runningSet]) this.#giveBack(d, handBack);
    await stopped;
  }

  #idle(graceMs: number): Promise<void> {
    if (this.#calls === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#onIdle = undefined;
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, graceMs));
      this.#onIdle = done;
    });
  }

  #onDelivery(msg: Msg): void {
    const delivery = this.#take(msg);
    if (delivery === undefined) return;
    if (this.#stopping) this.#giveBack(delivery, true);
    else this.#dispatch(delivery);
  }

  #take(msg: Msg): Delivery | undefined {
    const reply = msg.reply ?? '';
    const ack = parseAckSubject(reply);
    if (ack === undefined) {
      this.#logger.warn({ subject: msg.subject, reply: msg.reply }, 'nats delivery without a JetStream ack subject');
      return undefined;
    }
    let event: CloudEvent;
    try {
      event = decodeMessage(msg);
    } catch (err) {
      // A message no handler can take: terminate it so it is not redelivered forever.
      this.#logger.warn(
        { position: ack.streamSeq, err: (err as Error).message },
        'dropping a message that is not a CloudEvent',
      );
      this.#puller.send(reply, TERM);
      return undefined;
    }
    const keyValue = this.#settings.ordered ? event.attributes[EXT_PARTITION_KEY] : undefined;
    this.#held++;
    return {
      owner: this,
      reply,
      position: ack.streamSeq,
      delivered: ack.delivered,
      event,
      key: keyValue === undefined ? undefined : attributeString(keyValue),
      retries: 0,
      deadline: 0,
      state: 'waiting',
      holdsKey: false,
      touchedAt: Date.now(),
      run: 0,
      timer: undefined,
    };
  }

  #dispatch(d: Delivery): void {
    if (this.#lanes === undefined) {
      this.admitted(d);
      return;
    }
    if (this.#lanes.admit(d.key, d)) {
      d.holdsKey = true;
      this.admitted(d);
    } else {
      this.#setAside.add(d);
    }
  }

  /** `d` may run (it holds its key, if ordered): now, or when a slot frees. Called by other members' lanes too. */
  admitted(d: Delivery): void {
    if (this.#stopping) {
      this.#giveBack(d, true);
      return;
    }
    if (this.#running < this.#settings.maxInFlight) this.#start(d);
    else {
      this.#setAside.add(d);
      this.#ready.push(d);
    }
  }

  #start(d: Delivery): void {
    this.#setAside.delete(d);
    const { ackWaitMs, serverAckWaitMs } = this.#settings;
    const now = Date.now();
    // Restart the server's ack timer so the run starts with (nearly) a whole one; keep-alives extend it while the
    // run is within its ackWaitMs, so a run is never settled after the server gave the event to another.
    if (now - d.touchedAt > serverAckWaitMs / 10) {
      this.#puller.send(d.reply, WORKING);
      d.touchedAt = now;
    }
    d.state = 'running';
    this.#running++;
    this.#runningSet.add(d);
    const run = ++d.run;
    d.deadline = d.touchedAt + ackWaitMs;
    d.timer = setTimeout(() => this.#expire(d, run), d.deadline - now);
    const event = run === 1 ? d.event : { ...d.event, attributes: { ...d.event.attributes } };
    this.#calls++;
    let outcome: Promise<void>;
    try {
      outcome = this.#handler(event, { position: d.position, deliveryCount: d.delivered + d.retries });
    } catch (err) {
      outcome = Promise.reject(err);
    }
    outcome.then(
      () => this.#settle(d, run, true),
      () => this.#settle(d, run, false),
    );
  }

  #settle(d: Delivery, run: number, ok: boolean): void {
    this.#calls--;
    if (this.#calls === 0) this.#onIdle?.();
    if (d.run !== run || d.state !== 'running') return;
    this.#stopRunning(d);
    if (ok) {
      this.#puller.send(d.reply, ACK);
      this.#finish(d);
    } else if (this.#lanes !== undefined) {
      this.#retryInPlace(d);
    } else {
      this.#puller.send(d.reply, this.#nak);
      this.#finish(d);
    }
    this.#startReady();
  }

  /** Ordered: keep the key, and run the event again after the redelivery delay. */
  #retryInPlace(d: Delivery): void {
    d.state = 'retrying';
    d.retries++;
    this.#setAside.add(d);
    this.#puller.send(d.reply, WORKING);
    d.touchedAt = Date.now();
    d.timer = setTimeout(() => {
      d.timer = undefined;
      if (d.state !== 'retrying') return;
      d.state = 'waiting';
      this.admitted(d);
    }, this.#settings.redeliveryDelayMs);
  }

  /** The ack wait ran out: the server offers the event again; this run's outcome no longer counts. */
  #expire(d: Delivery, run: number): void {
    if (d.run !== run || d.state !== 'running') return;
    d.timer = undefined;
    this.#stopRunning(d);
    this.#finish(d);
    this.#startReady();
  }

  #stopRunning(d: Delivery): void {
    clearTimeout(d.timer);
    d.timer = undefined;
    this.#running--;
    this.#runningSet.delete(d);
  }

  /** NAKs `d` (when `send`) and lets go of it, whatever state it is in. */
  #giveBack(d: Delivery, send: boolean): void {
    if (d.state === 'done') return;
    if (d.state === 'running') this.#stopRunning(d);
    clearTimeout(d.timer);
    if (send) this.#puller.send(d.reply, NAK);
    this.#finish(d);
  }

  #finish(d: Delivery): void {
    d.state = 'done';
    this.#held--;
    this.#setAside.delete(d);
    if (d.holdsKey) {
      d.holdsKey = false;
      const next = this.#lanes?.release(d.key);
      if (next !== undefined) {
        next.holdsKey = true;
        next.owner.admitted(next);
      }
    }
    this.#puller.pull();
  }

  #startReady(): void {
    while (this.#running < this.#settings.maxInFlight && this.#ready.length > 0) {
      const d = this.#ready.shift()!;
      if (d.state === 'waiting') this.#start(d);
    }
  }

  /** Restarts the server's ack timer of what this member holds, so it is not offered to someone else meanwhile. */
  #keepAlive(): void {
    const now = Date.now();
    const { serverAckWaitMs } = this.#settings;
    const third = serverAckWaitMs / 3;
    const touch = (d: Delivery) => {
      if (now - d.touchedAt < third) return;
      this.#puller.send(d.reply, WORKING);
      d.touchedAt = now;
    };
    for (const d of this.#setAside) touch(d);
    // A running event is kept alive while the server's timer would lapse before the run's deadline, so the server
    // offers it to another member only after this member gave up on it.
    for (const d of this.#runningSet) if (d.touchedAt + serverAckWaitMs < d.deadline) touch(d);
  }
}

function nakWithDelay(delayMs: number): Uint8Array {
  if (delayMs <= 0) return NAK;
  return new TextEncoder().encode(`-NAK ${JSON.stringify({ delay: nanos(delayMs) })}`);
}
