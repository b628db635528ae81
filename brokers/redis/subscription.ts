import type { EventHandler, Subscription } from '../contract.ts';
import { Acker } from './acker.ts';
import { decodeFields } from './codec.ts';
import { Connection, replyCode } from './connection.ts';
import { Dispatcher, type DispatcherOptions, type Job } from './dispatcher.ts';
import type { ResolvedRedisOptions } from './options.ts';
import { scripts } from './scripts.ts';

/** A consumer that holds nothing and was idle this long belonged to a process that is gone. */
const DEAD_CONSUMER_IDLE_MS = 60_000;
/** How often a subscription sweeps such consumers out of its group. */
const SWEEP_CONSUMERS_EVERY_MS = 60_000;
/** Most IDs per claim script call. */
const CLAIM_CHUNK = 500;

export interface SubscriptionSetup {
  options: ResolvedRedisOptions;
  /** The log's shared connection (acks, claims, scripts). */
  shared: Connection;
  key: string;
  group: string;
  consumer: string;
  handler: EventHandler;
  subscribe: DispatcherOptions;
  /** Redis `run_id` when the group was known to exist (a different one means the server restarted). */
  runId: string | undefined;
  onClosed: (subscription: RedisSubscription) => void;
}

type StreamReply = [key: Buffer, entries: [id: Buffer, fields: Buffer[] | null][]][] | null;
type ClaimedEntry = [id: Buffer, fields: Buffer[], deliveries: number];

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * One member of a consumer group: its own consumer name and its own connection for `XREADGROUP ... BLOCK` (a blocked
 * read would stall every other command on a shared connection). Reads only as many entries as it has room for, so
 * what it holds unacknowledged stays within `maxInFlight` (+ `maxParked` when ordered).
 *
 * Recovery paths, all through the group's pending list (PEL):
 * - rejected handler: after `redeliveryDelayMs` the entry, still pending here, is claimed again by this consumer
 *   (XCLAIM with RETRYCOUNT + 1) and offered again;
 * - ack wait expired: same, at once (the slot is freed at the deadline);
 * - a member died or closed with work unfinished: every member runs XAUTOCLAIM (min idle = its `ackWaitMs`, capped
 *   by `livenessMs` — members touch what they hold while its ack wait runs) periodically; closing marks unfinished
 *   entries idle so they are taken over at once;
 * - this connection dropped in the middle of a read: entries delivered to this consumer but never seen are adopted
 *   from its own PEL after the reconnect.
 */
export class RedisSubscription implements Subscription {
  readonly #setup: SubscriptionSetup;
  /** Idle time after which another member takes an entry over: the ack wait, capped by the liveness window. */
  readonly #idleMs: number;
  readonly #reader: Connection;
  readonly #dispatcher: Dispatcher;
  readonly #acker: Acker;
  readonly #sweepTimer: NodeJS.Timeout;
  #readerId: number | undefined;
  #reading = false;
  #recover = false;
  #readLoop: Promise<void> = Promise.resolve();
  #sweeping: Promise<void> | undefined;
  #closing = false;
  #closed: Promise<void> | undefined;
  #wakeReader: (() => void) | undefined;
  #signalClosing!: () => void;
  /** Resolves when closing starts, to cut waits short. */
  readonly #closingSignal = new Promise<void>((resolve) => {
    this.#signalClosing = resolve;
  });
  #cursor = '0-0';
  #lastConsumerSweep = Date.now();

  constructor(setup: SubscriptionSetup) {
    this.#setup = setup;
    this.#idleMs = Math.min(setup.subscribe.ackWaitMs, setup.options.livenessMs);
    this.#reader = new Connection(setup.options, `${setup.options.prefix}:reader:${setup.consumer}`, 'blocking');
    this.#reader.client.on('ready', () => {
      this.#readerId = undefined;
    });
    // A read in flight when the connection dropped may have been served without its reply reaching us.
    this.#reader.client.on('close', () => {
      this.#recover = true;
    });
    this.#acker = new Acker(setup.shared, setup.key, setup.group, (ids) => this.#dispatcher.acked(ids));
    this.#dispatcher = new Dispatcher(setup.subscribe, setup.handler, {
      ack: (job) => this.#acker.add(job.id),
      reclaim: (jobs) => this.#claimOwn(jobs),
      room: () => this.#wakeReader?.(),
    });
    const every = Math.min(1000, Math.max(10, Math.floor(this.#idleMs / 4)));
    this.#sweepTimer = setInterval(() => this.#sweep(), every);
    this.#sweepTimer.unref();
  }

  /** Takes over what other members abandoned, then starts reading. */
  start(): void {
    this.#sweep();
    this.#readLoop = this.#read();
  }

  close(graceMs?: number): Promise<void> {
    this.#closed ??= this.#close(graceMs ?? this.#setup.options.defaultGraceMs);
    return this.#closed;
  }

  async #read(): Promise<void> {
    const { key, group, consumer, options } = this.#setup;
    for (;;) {
      if ((await this.#room()) === 0) return;
      if (!this.#reader.ready) {
        await Promise.race([this.#reader.whenReady(1000), this.#closingSignal]);
        continue;
      }
      try {
        if (this.#readerId === undefined) this.#readerId = Number(await this.#reader.client.client('ID'));
        if (this.#recover) this.#recover = !(await this.#adoptOwnPending());
      } catch (err) {
        // NOGROUP: nothing to adopt; the read below finds the group missing and handles it.
        if (replyCode(err) === 'NOGROUP') this.#recover = false;
        else {
          await this.#pause(100);
          continue;
        }
      }
      // Adopted entries may have used the room up.
      const count = this.#fits();
      if (count <= 0) continue;
      let reply: StreamReply;
      this.#reading = true;
      try {
        reply = (await this.#reader.client.xreadgroupBuffer(
          'GROUP',
          group,
          consumer,
          'COUNT',
          count,
          'BLOCK',
          options.blockMs,
          'STREAMS',
          key,
          '>',
        )) as StreamReply;
      } catch (err) {
        this.#reading = false;
        if (replyCode(err) === 'NOGROUP') await this.#groupMissing();
        else if (this.#reader.ready) await this.#pause(100);
        continue;
      }
      this.#reading = false;
      const entries = reply?.[0]?.[1];
      if (entries !== undefined) for (const [id, fields] of entries) this.#accept(id.toString(), fields, 1);
    }
  }

  /** How many entries to read now: 0 when closing, negative when there is no room. */
  #fits(): number {
    if (this.#closing) return 0;
    const room = this.#dispatcher.room;
    const parkRoom = this.#setup.options.maxParked - this.#dispatcher.parkedCount;
    return room > 0 && parkRoom > 0 ? Math.min(room, parkRoom) : -1;
  }

  /** Resolves with the number of entries to read once there is room (0 when closing). */
  #room(): Promise<number> {
    const now = this.#fits();
    if (now >= 0) return Promise.resolve(now);
    return new Promise((resolve) => {
      this.#wakeReader = () => {
        const room = this.#fits();
        if (room < 0) return;
        this.#wakeReader = undefined;
        resolve(room);
      };
    });
  }

  #accept(id: string, fields: Buffer[] | null, deliveries: number): void {
    const existing = this.#dispatcher.jobs.get(id);
    if (existing !== undefined) {
      this.#dispatcher.reclaimed(existing, deliveries);
      return;
    }
    // An entry trimmed or deleted while pending comes back without fields: nothing to deliver.
    const event = fields === null ? undefined : decodeFields(fields);
    if (event === undefined) {
      if (fields !== null) {
        this.#setup.options.logger.warn(
          { stream: this.#setup.key, group: this.#setup.group, id },
          'redis stream entry is not a CloudEvent (needs ce_specversion, ce_id, ce_source, ce_type); acknowledged and skipped',
        );
      }
      this.#acker.add(id);
      return;
    }
    this.#dispatcher.offer(id, event, deliveries);
  }

  /** The stream or group is gone: recreated only if Redis restarted (lost its data), else wait for it. */
  async #groupMissing(): Promise<void> {
    const { key, group, shared, options } = this.#setup;
    try {
      const info = await this.#reader.client.info('server');
      const runId = /run_id:(\w+)/.exec(info)?.[1];
      if (runId !== undefined && runId !== this.#setup.runId && shared.ready) {
        await shared.client.xgroup('CREATE', key, group, '0', 'MKSTREAM').catch((err: unknown) => {
          if (replyCode(err) !== 'BUSYGROUP') throw err;
        });
        this.#setup.runId = runId;
        options.logger.warn(
          { stream: key, group },
          'redis restarted without its data (run_id changed): consumer group recreated from the start of the stream',
        );
        return;
      }
    } catch {
      // Retried below.
    }
    await this.#pause(1000);
  }

  /** Waits `ms`, or less when the subscription closes. */
  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done(): void {
        clearTimeout(timer);
        self.#wakeReader = undefined;
        resolve();
      }
      this.#wakeReader = () => {
        if (this.#closing) done();
      };
    });
  }

  /**
   * Takes back entries this consumer holds on the server but not locally (a read reply lost with the connection).
   * False when it could not run yet (the shared connection is down).
   */
  async #adoptOwnPending(): Promise<boolean> {
    const { key, group, consumer, shared } = this.#setup;
    if (!shared.ready) return false;
    let start = '-';
    for (;;) {
      const page = (await shared.client.xpending(key, group, 'IDLE', 0, start, '+', 100, consumer)) as [
        string,
        string,
        number,
        number,
      ][];
      const unknown = page.map(([id]) => id).filter((id) => !this.#dispatcher.jobs.has(id));
      if (unknown.length > 0) {
        const adopted = (await scripts.claimOwn.runBuffer(shared.client, key, [
          group,
          consumer,
          'adopt',
          ...unknown,
        ])) as ClaimedEntry[];
        for (const [id, fields, deliveries] of adopted) this.#accept(id.toString(), fields, deliveries);
      }
      if (page.length < 100) return true;
      start = `(${page[page.length - 1]![0]}`;
    }
  }

  /** Periodic: expired ack waits, keeping waiting entries ours, taking over abandoned ones, dead consumers. */
  #sweep(): void {
    if (this.#closing || this.#sweeping !== undefined) return;
    this.#dispatcher.expire(Date.now());
    if (!this.#setup.shared.ready) return;
    this.#sweeping = this.#sweepRemote()
      .catch((err: unknown) => {
        if (replyCode(err) === 'NOGROUP' || !this.#setup.shared.ready) return;
        this.#setup.options.logger.warn(
          { stream: this.#setup.key, group: this.#setup.group, err: (err as Error).message },
          'redis subscription sweep failed',
        );
      })
      .finally(() => {
        this.#sweeping = undefined;
      });
  }

  async #sweepRemote(): Promise<void> {
    const { key, group, consumer, shared, subscribe } = this.#setup;
    const now = Date.now();
    const waiting = this.#dispatcher.toKeepAlive(now, this.#idleMs / 2, this.#idleMs);
    for (let i = 0; i < waiting.length; i += CLAIM_CHUNK) {
      const chunk = waiting.slice(i, i + CLAIM_CHUNK);
      const ids = chunk.map((job) => job.id);
      const held = new Set(
        (await scripts.claimOwn.run(shared.client, key, [group, consumer, 'touch', ...ids])) as string[],
      );
      for (const job of chunk) {
        if (held.has(job.id)) job.heldSince = now;
        else this.#dispatcher.drop(job);
      }
    }
    const room = this.#dispatcher.room;
    if (room > 0 && !this.#closing) {
      const [cursor, claimed] = (await scripts.autoclaim.runBuffer(shared.client, key, [
        group,
        consumer,
        this.#idleMs,
        this.#cursor,
        room,
      ])) as [Buffer, ClaimedEntry[]];
      this.#cursor = cursor.toString();
      if (this.#closing) return;
      for (const [id, fields, deliveries] of claimed) this.#accept(id.toString(), fields, deliveries);
    }
    if (now - this.#lastConsumerSweep >= SWEEP_CONSUMERS_EVERY_MS) {
      this.#lastConsumerSweep = now;
      const idle = Math.max(DEAD_CONSUMER_IDLE_MS, 2 * subscribe.ackWaitMs);
      await scripts.dropConsumers.run(shared.client, key, [group, '', idle]);
    }
  }

  /** Claims jobs again for a redelivery (after a rejection or an expired ack wait). */
  #claimOwn(jobs: Job[]): void {
    const { key, group, consumer, shared } = this.#setup;
    const tokens = new Map(jobs.map((job) => [job, job.token]));
    const attempt = async (): Promise<void> => {
      // Once closing, what this subscriber holds is released instead (a claim now would hide it again).
      if (this.#closing) return;
      if (!shared.ready && !(await shared.whenReady(this.#setup.options.unavailableTimeoutMs))) {
        if (!this.#closing) setTimeout(() => void attempt(), 250);
        return;
      }
      try {
        for (let i = 0; i < jobs.length; i += CLAIM_CHUNK) {
          const chunk = jobs.slice(i, i + CLAIM_CHUNK);
          const reply = (await scripts.claimOwn.run(shared.client, key, [
            group,
            consumer,
            'retry',
            ...chunk.map((job) => job.id),
          ])) as [string, number][];
          const counts = new Map(reply);
          for (const job of chunk) this.#dispatcher.retried(job, tokens.get(job)!, counts.get(job.id));
        }
      } catch (err) {
        if (this.#closing) return;
        if (replyCode(err) === 'NOGROUP') {
          for (const job of jobs) this.#dispatcher.retried(job, tokens.get(job)!, undefined);
          return;
        }
        setTimeout(() => void attempt(), 250);
      }
    };
    void attempt();
  }

  async #close(graceMs: number): Promise<void> {
    const { key, group, consumer, shared, options } = this.#setup;
    this.#closing = true;
    this.#signalClosing();
    clearInterval(this.#sweepTimer);
    this.#dispatcher.stop();
    this.#wakeReader?.();
    await this.#unblock();
    // Bounded: a read connection to a server that hangs must not hang close.
    await Promise.race([this.#readLoop, sleep(options.unavailableTimeoutMs)]);
    await this.#sweeping;
    await this.#dispatcher.waitIdle(graceMs);
    const unfinished = this.#dispatcher.abandonUnfinished();
    await this.#acker.drain(options.unavailableTimeoutMs);
    if (shared.ready) {
      try {
        for (let i = 0; i < unfinished.length; i += CLAIM_CHUNK) {
          const ids = unfinished.slice(i, i + CLAIM_CHUNK);
          await scripts.claimOwn.run(shared.client, key, [group, consumer, 'release', ...ids]);
        }
        await scripts.dropConsumers.run(shared.client, key, [group, consumer, Number.MAX_SAFE_INTEGER]);
      } catch (err) {
        // Unreleased entries are taken over by another member once their ack wait has passed.
        if (replyCode(err) !== 'NOGROUP') {
          options.logger.warn({ stream: key, group, err: (err as Error).message }, 'redis subscription close');
        }
      }
    }
    await this.#reader.end();
    this.#setup.onClosed(this);
  }

  /** Ends a blocked XREADGROUP now (CLIENT UNBLOCK from the shared connection) instead of after `blockMs`. */
  async #unblock(): Promise<void> {
    for (let attempt = 0; this.#reading && attempt < 20; attempt++) {
      const id = this.#readerId;
      if (id !== undefined && this.#setup.shared.ready) {
        await this.#setup.shared.client.client('UNBLOCK', id).catch(() => undefined);
      }
      await Promise.race([this.#readLoop, sleep(10)]);
    }
    // Not unblocked (no shared connection): drop the read; its entries are taken over after the ack wait.
    if (this.#reading) this.#reader.client.disconnect();
  }
}
