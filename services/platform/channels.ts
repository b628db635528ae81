import type { Logger } from 'pino';
import type { ChannelHealth, EventLog } from '../../brokers/contract.ts';
import { MemoryEventLog } from '../../brokers/memory/memory-log.ts';
import type { ChannelName } from '../controller/resources/index.ts';
import type { PlatformOptions } from './options.ts';

type ChannelOptions = Pick<
  PlatformOptions,
  'memoryMaxEvents' | 'memoryMaxBytes' | 'natsUrl' | 'kafkaBrokers' | 'redisUrl' | 'channelPrefix'
>;

/**
 * How each channel's EventLog is made. The engine clients are imported on first use, so a platform that only uses
 * memory never loads nats, kafkajs or ioredis (a few MB of RSS and ~100 ms of start each).
 */
const factories: Record<ChannelName, (o: ChannelOptions) => Promise<EventLog>> = {
  memory: async (o) => new MemoryEventLog({ maxEvents: o.memoryMaxEvents, maxBytes: o.memoryMaxBytes }),
  nats: async (o) => {
    const { NatsEventLog } = await import('../../brokers/nats/nats-log.ts');
    return new NatsEventLog({ servers: o.natsUrl, prefix: o.channelPrefix });
  },
  kafka: async (o) => {
    const { KafkaEventLog } = await import('../../brokers/kafka/kafka-log.ts');
    return new KafkaEventLog({ brokers: o.kafkaBrokers.split(','), prefix: o.channelPrefix });
  },
  redis: async (o) => {
    const { RedisEventLog } = await import('../../brokers/redis/redis-log.ts');
    return new RedisEventLog({ url: o.redisUrl, prefix: o.channelPrefix });
  },
};

/**
 * Adapters connect in the background; a Broker reconciled right after its channel was created would otherwise be
 * marked not Ready for the few milliseconds the first connection takes.
 */
const FIRST_CONNECTION_WAIT_MS = 3000;

async function firstConnection(log: EventLog, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!log.health().connected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

export type HealthListener = (channel: ChannelName, health: ChannelHealth) => void;

/**
 * The channel backends this process runs, created on first use and shared by every Broker of that class. Their
 * connection state is watched so Broker status and `/metrics` follow an engine going away and coming back.
 */
export class Channels {
  private readonly logs = new Map<ChannelName, Promise<EventLog>>();
  private readonly connected = new Map<ChannelName, boolean>();
  private readonly listeners = new Set<HealthListener>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly options: ChannelOptions,
    private readonly logger?: Logger,
    watchEveryMs = 500,
  ) {
    this.timer = setInterval(() => void this.watch(), watchEveryMs).unref();
  }

  /** The channel's EventLog, or why it cannot be created here. */
  async get(name: ChannelName): Promise<EventLog | string> {
    let log = this.logs.get(name);
    if (!log) {
      log = factories[name](this.options).then(async (created) => {
        await firstConnection(created, FIRST_CONNECTION_WAIT_MS);
        return created;
      });
      this.logs.set(name, log);
      log.catch(() => this.logs.delete(name));
    }
    try {
      return await log;
    } catch (err) {
      return `the ${name} channel could not be created: ${(err as Error).message}`;
    }
  }

  /** Called with a channel's health whenever its `connected` flips. */
  onHealthChange(listener: HealthListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Health of every channel created so far (for `/metrics`). */
  async health(): Promise<{ channel: ChannelName; health: ChannelHealth; log: EventLog }[]> {
    const out: { channel: ChannelName; health: ChannelHealth; log: EventLog }[] = [];
    for (const [channel, pending] of this.logs) {
      const log = await pending.catch(() => undefined);
      if (log) out.push({ channel, health: log.health(), log });
    }
    return out;
  }

  async memoryStats() {
    const memory = await this.logs.get('memory')?.catch(() => undefined);
    return memory instanceof MemoryEventLog ? memory.stats() : undefined;
  }

  async close(graceMs: number): Promise<void> {
    clearInterval(this.timer);
    await Promise.all(
      [...this.logs.values()].map(async (pending) => (await pending.catch(() => undefined))?.close(graceMs)),
    );
  }

  private async watch(): Promise<void> {
    for (const { channel, health } of await this.health()) {
      if (this.connected.get(channel) === health.connected) continue;
      const first = !this.connected.has(channel);
      this.connected.set(channel, health.connected);
      if (first && health.connected) continue;
      if (health.connected) this.logger?.info({ channel }, 'channel connected');
      else this.logger?.warn({ channel, reason: health.reason }, 'channel disconnected; reconnecting');
      for (const listener of this.listeners) listener(channel, health);
    }
  }
}
