import type { Message, TopicMessages } from 'kafkajs';
import { BackendUnavailableError, ElasticServingError } from '../../services/core/errors.ts';
import type { ConnectionMonitor } from './connection.ts';
import { describe } from './connection.ts';
import { Fifo } from './fifo.ts';
import { isTooLarge, isTopicMissing } from './kafka-errors.ts';

export interface BatcherOptions {
  /** One acks=all produce of these records (kafkajs `sendBatch`). */
  send: (topicMessages: TopicMessages[]) => Promise<void>;
  monitor: ConnectionMonitor;
  maxBatchBytes: number;
  maxBatchRecords: number;
  timeoutMs: number;
  /** A produce failed because the topic does not exist (any more). */
  onTopicMissing: (kafkaTopic: string) => void;
}

interface PendingAppend {
  topic: string;
  messages: Message[];
  bytes: number[];
  deadline: number;
  /** Chunks still carrying some of its records. */
  chunksLeft: number;
  settled: boolean;
  resolve: () => void;
  reject: (err: Error) => void;
}

interface Chunk {
  byTopic: Map<string, Message[]>;
  appends: Set<PendingAppend>;
  bytes: number;
  records: number;
}

/**
 * Produce requests in flight at once (each carrying everything queued when it left). One at a time made every event
 * wait for the request before it at low rates (ingress p50 ~4 ms at 1,000 events/s on a 1.4 ms produce); a few
 * let a new event leave at once, while under load each request still takes everything that queued meanwhile.
 */
const MAX_IN_FLIGHT = 3;

const NO_MESSAGES: Message[] = [];
const NO_BYTES: number[] = [];

/**
 * Coalesces concurrent appends into few produce requests: appends arriving in the same tick go out together, as do
 * those arriving while `MAX_IN_FLIGHT` requests are in flight, in the next one (bounded by `maxBatchBytes` and
 * `maxBatchRecords`, so a request never exceeds a topic's `max.message.bytes`). The chunks of one append always go
 * one after another, so its records keep their order; requests in flight together only carry appends that were in
 * flight together too, whose relative order nobody could rely on. Each caller resolves only when the
 * request carrying its own records was acknowledged by all in-sync replicas, and rejects when any of them failed —
 * Kafka has no all-or-nothing produce across partitions. A caller not answered within `timeoutMs` rejects with
 * `BackendUnavailableError` (its records may still be stored later: the contract lets the client resend).
 */
export class AppendBatcher {
  readonly #options: BatcherOptions;
  readonly #queue = new Fifo<PendingAppend>();
  /** Every unsettled append in arrival order (deadlines are monotonic), for the one deadline timer. */
  readonly #watch = new Fifo<PendingAppend>();
  #deadlineTimer: NodeJS.Timeout | undefined;
  #scheduled = false;
  readonly #running = new Set<Promise<void>>();
  #closed = false;

  constructor(options: BatcherOptions) {
    this.#options = options;
  }

  append(topic: string, messages: Message[], bytes: number[]): Promise<void> {
    if (this.#closed) return Promise.reject(new BackendUnavailableError('the kafka event log is closed'));
    return new Promise<void>((resolve, reject) => {
      const pending: PendingAppend = {
        topic,
        messages,
        bytes,
        deadline: Date.now() + this.#options.timeoutMs,
        chunksLeft: 0,
        settled: false,
        resolve,
        reject,
      };
      this.#queue.push(pending);
      this.#watch.push(pending);
      if (this.#deadlineTimer === undefined) this.#armDeadline();
      if (!this.#scheduled && this.#running.size < MAX_IN_FLIGHT) {
        this.#scheduled = true;
        setImmediate(() => this.#start());
      }
    });
  }

  /** Stops taking appends; waits up to `graceMs` for those queued or in flight, then rejects the rest. */
  async close(graceMs: number): Promise<void> {
    this.#closed = true;
    if (this.#running.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      const running = Promise.all(this.#running);
      await Promise.race([running, new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
      clearTimeout(timer);
    }
    clearTimeout(this.#deadlineTimer);
    for (const pending of this.#watch) settle(pending, new BackendUnavailableError('the kafka event log closed'));
  }

  #start(): void {
    this.#scheduled = false;
    if (this.#running.size >= MAX_IN_FLIGHT) return;
    const running: Promise<void> = this.#pump().finally(() => {
      this.#running.delete(running);
      if (this.#queue.length > 0 && !this.#closed) this.#start();
    });
    this.#running.add(running);
  }

  async #pump(): Promise<void> {
    const { monitor } = this.#options;
    for (;;) {
      this.#dropSettledHead();
      const head = this.#queue.peek();
      if (head === undefined) return;
      if (head.deadline <= Date.now()) {
        settle(head, monitor.unavailable(`no acknowledgement within ${this.#options.timeoutMs} ms`));
        continue;
      }
      if (!monitor.connected) {
        // Nothing is sent while the cluster does not answer; callers expire at their deadline.
        await monitor.waitUp(head.deadline, 'append').catch(() => undefined);
        continue;
      }
      // An append's chunks go one after another so its records keep their order without idempotence too.
      // A request kafkajs keeps retrying past twice the timeout no longer holds up the others (its callers were
      // answered 503 at their deadline already).
      for (const chunk of this.#takeChunks()) await this.#withinStuckLimit(this.#send(chunk));
    }
  }

  async #withinStuckLimit(sending: Promise<void>): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const stuck = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.#options.timeoutMs * 2);
    });
    await Promise.race([sending, stuck]);
    clearTimeout(timer);
  }

  #dropSettledHead(): void {
    while (this.#queue.peek()?.settled === true) this.#queue.shift();
  }

  #takeChunks(): Chunk[] {
    const { maxBatchBytes, maxBatchRecords } = this.#options;
    const chunks: Chunk[] = [];
    let chunk: Chunk | undefined;
    for (let pending = this.#queue.shift(); pending !== undefined; pending = this.#queue.shift()) {
      if (pending.settled) continue;
      for (let i = 0; i < pending.messages.length; i++) {
        const size = pending.bytes[i]!;
        if (chunk !== undefined && (chunk.bytes + size > maxBatchBytes || chunk.records >= maxBatchRecords)) {
          chunk = undefined;
        }
        if (chunk === undefined) {
          chunk = { byTopic: new Map(), appends: new Set(), bytes: 0, records: 0 };
          chunks.push(chunk);
        }
        if (!chunk.appends.has(pending)) {
          chunk.appends.add(pending);
          pending.chunksLeft++;
        }
        const list = chunk.byTopic.get(pending.topic);
        if (list === undefined) chunk.byTopic.set(pending.topic, [pending.messages[i]!]);
        else list.push(pending.messages[i]!);
        chunk.bytes += size;
        chunk.records++;
      }
    }
    return chunks;
  }

  async #send(chunk: Chunk): Promise<void> {
    const topicMessages: TopicMessages[] = [];
    for (const [topic, messages] of chunk.byTopic) topicMessages.push({ topic, messages });
    try {
      await this.#options.send(topicMessages);
      this.#options.monitor.up();
      for (const pending of chunk.appends) if (--pending.chunksLeft === 0) settle(pending);
    } catch (err) {
      const failure = this.#failure(err, chunk);
      for (const pending of chunk.appends) settle(pending, failure);
    }
  }

  #failure(err: unknown, chunk: Chunk): Error {
    if (isTooLarge(err)) {
      return new ElasticServingError(
        'ES_ERR_BODY_TOO_LARGE',
        `kafka refused the records as too large: ${describe(err)}`,
        {
          cause: err,
        },
      );
    }
    if (isTopicMissing(err)) {
      for (const topic of chunk.byTopic.keys()) this.#options.onTopicMissing(topic);
      return new BackendUnavailableError(`kafka topic missing: ${describe(err)}`, { cause: err });
    }
    this.#options.monitor.down(describe(err));
    return this.#options.monitor.unavailable('append failed', err);
  }

  #armDeadline(): void {
    while (this.#watch.peek()?.settled === true) this.#watch.shift();
    const head = this.#watch.peek();
    if (head === undefined) {
      this.#deadlineTimer = undefined;
      return;
    }
    this.#deadlineTimer = setTimeout(() => this.#expire(), Math.max(0, head.deadline - Date.now()));
  }

  #expire(): void {
    const now = Date.now();
    let expired = 0;
    for (let head = this.#watch.peek(); head !== undefined && (head.settled || head.deadline <= now); ) {
      this.#watch.shift();
      if (!head.settled) {
        expired++;
        settle(head, this.#options.monitor.unavailable(`no acknowledgement within ${this.#options.timeoutMs} ms`));
      }
      head = this.#watch.peek();
    }
    if (expired > 0 && this.#running.size > 0 && this.#options.monitor.connected) {
      this.#options.monitor.down(`a produce request got no answer within ${this.#options.timeoutMs} ms`);
    }
    this.#armDeadline();
  }
}

function settle(pending: PendingAppend, failure?: Error): void {
  if (pending.settled) return;
  pending.settled = true;
  pending.messages = NO_MESSAGES;
  pending.bytes = NO_BYTES;
  if (failure === undefined) pending.resolve();
  else pending.reject(failure);
}
