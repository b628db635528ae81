// The raw-client baselines of the channels suite, in their own process: the engine's own client storing one
// 1 KiB message per call with 256 calls in flight and the durability the adapter promises (JetStream ack, Kafka
// acks=all, XADD reply). Prints {"rate": messages/s} over the measured window.
//   raw-publisher.ts <jetstream|kafka|redis|redis-pipelined> <url> <warmupSeconds> <measureSeconds>
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { connect } from 'nats';

const [kind = '', url = '', warmup = '3', measure = '10'] = process.argv.slice(2);
const IN_FLIGHT = 256;
const PIPELINE = 256;
const payload = Buffer.alloc(1024, 'x');
const name = `es-raw-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;

interface Engine {
  /** Stores one message (or `PIPELINE` of them for the pipelined variant); resolves on the engine's answer. */
  publish(): Promise<number>;
  close(): Promise<void>;
}

async function jetstream(): Promise<Engine> {
  const nc = await connect({ servers: url });
  const jsm = await nc.jetstreamManager();
  await jsm.streams.add({ name, subjects: [`${name}.>`] });
  const js = nc.jetstream();
  return {
    publish: async () => (await js.publish(`${name}.e`, payload), 1),
    close: async () => {
      await jsm.streams.delete(name);
      await nc.close();
    },
  };
}

async function kafka(): Promise<Engine> {
  const client = new Kafka({ brokers: url.split(','), logLevel: logLevel.ERROR });
  const admin = client.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: name, numPartitions: 10 }], waitForLeaders: true });
  const producer = client.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  return {
    publish: async () => (await producer.send({ topic: name, acks: -1, messages: [{ value: payload }] }), 1),
    close: async () => {
      await producer.disconnect();
      await admin.deleteTopics({ topics: [name] });
      await admin.disconnect();
    },
  };
}

async function redis(pipelined: boolean): Promise<Engine> {
  const client = new Redis(url);
  return {
    publish: async () => {
      if (!pipelined) return (await client.xadd(name, '*', 'data', payload), 1);
      const pipeline = client.pipeline();
      for (let i = 0; i < PIPELINE; i++) pipeline.xadd(name, '*', 'data', payload);
      await pipeline.exec();
      return PIPELINE;
    },
    close: async () => {
      await client.del(name);
      client.disconnect();
    },
  };
}

const engines: Record<string, () => Promise<Engine>> = {
  jetstream,
  kafka,
  redis: () => redis(false),
  'redis-pipelined': () => redis(true),
};
const make = engines[kind];
if (!make) throw new Error(`unknown engine ${kind}: expected ${Object.keys(engines).join(', ')}`);
const engine = await make();

let counting = false;
let count = 0;
let running = true;
// The pipelined variant keeps a few pipelines in flight rather than 256 × 256 messages.
const lanes = kind === 'redis-pipelined' ? 4 : IN_FLIGHT;
const lane = async () => {
  while (running) {
    const n = await engine.publish();
    if (counting) count += n;
  }
};
const all = Array.from({ length: lanes }, lane);
await new Promise((r) => setTimeout(r, Number(warmup) * 1000));
counting = true;
const started = performance.now();
await new Promise((r) => setTimeout(r, Number(measure) * 1000));
counting = false;
const seconds = (performance.now() - started) / 1000;
running = false;
await Promise.all(all);
await engine.close();
process.stdout.write(`${JSON.stringify({ rate: count / seconds })}\n`);
process.exit(0);
