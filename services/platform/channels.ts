import type { EventLog } from '../../brokers/contract.ts';
import { MemoryEventLog } from '../../brokers/memory/memory-log.ts';
import type { ChannelName } from '../controller/resources/index.ts';
import type { PlatformOptions } from './options.ts';

/**
 * The channel backends this process runs, created on first use. Only memory exists so far; asking for another
 * answers with the reason, which the Broker's status shows.
 */
export class Channels {
  private memory?: MemoryEventLog;

  constructor(private readonly options: PlatformOptions) {}

  get(name: ChannelName): EventLog | string {
    if (name !== 'memory') return `the ${name} channel is not available in this build yet (use memory)`;
    this.memory ??= new MemoryEventLog({
      maxEvents: this.options.memoryMaxEvents,
      maxBytes: this.options.memoryMaxBytes,
    });
    return this.memory;
  }

  memoryStats() {
    return this.memory?.stats();
  }

  async close(graceMs: number): Promise<void> {
    await this.memory?.close(graceMs);
  }
}
