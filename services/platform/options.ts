/** Options of the embedded platform (`elastic-serving up`). Every field maps to a flag and an env variable. */
export interface PlatformOptions {
  /**
   * Interface every listener binds to. Anything but loopback requires `token` (the control API can start processes).
   * @defaultValue '127.0.0.1'
   */
  host: string;
  /** Broker ingress port. @defaultValue 8080 */
  ingressPort: number;
  /** Function gateway port. @defaultValue 8081 */
  gatewayPort: number;
  /** Control API port. @defaultValue 8090 */
  controlPort: number;
  /** Port of the storage notification webhooks (StorageSource `webhook` mode). @defaultValue 8085 */
  storageWebhookPort: number;
  /** State directory: resources, transpiled handlers, replica logs. @defaultValue '.elastic-serving' */
  stateDir: string;
  /** Default channel for brokers with no class annotation. @defaultValue 'memory' */
  channel: 'memory' | 'nats' | 'kafka' | 'redis';
  /** NATS servers for brokers on the nats channel. @defaultValue 'nats://127.0.0.1:4222' */
  natsUrl: string;
  /** Kafka bootstrap brokers (comma-separated host:port) for the kafka channel. @defaultValue '127.0.0.1:9092' */
  kafkaBrokers: string;
  /** Redis URL for the redis channel (and BullMQ). @defaultValue 'redis://127.0.0.1:6379' */
  redisUrl: string;
  /**
   * Prefix of every stream, topic, key and consumer group the platform creates on a shared engine, so several
   * installations (or test runs) can share one server.
   * @defaultValue 'es'
   */
  channelPrefix: string;
  /** Bearer token for the control API; required when `host` is not loopback. @defaultValue undefined */
  token?: string;
  /** Directory of resource YAML applied at start (the demo). `false` applies nothing. @defaultValue 'deploy/local' */
  demoDir: string | false;
  /** Ingress body limit in bytes. @defaultValue 1048576 */
  maxBodyBytes: number;
  /** Memory channel bound: events held at once. @defaultValue 100000 */
  memoryMaxEvents: number;
  /** Memory channel bound: bytes held at once. @defaultValue 268435456 */
  memoryMaxBytes: number;
  /** How long shutdown waits for in-flight deliveries. @defaultValue 10000 */
  shutdownGraceMs: number;
  /** pino log level. @defaultValue 'info' */
  logLevel: string;
  /** Autoscaler stable window (Knative `stable-window`); tests use a few seconds. @defaultValue 60000 */
  stableWindowMs: number;
  /** Panic window as a percentage of the stable window. @defaultValue 10 */
  panicWindowPercentage: number;
  /** How often the autoscaler re-evaluates every Function. @defaultValue 2000 */
  autoscalerTickMs: number;
  /** Idle time on top of the stable window before a Function goes to zero. @defaultValue 30000 */
  scaleToZeroGraceMs: number;
  /**
   * Knative's target-burst-capacity for Functions without the annotation: 0 = activator out of the path whenever
   * replicas are ready, -1 = always in the path. @defaultValue 200
   */
  targetBurstCapacity: number;
  /** Requests the activator holds per Function before answering 503. @defaultValue 10000 */
  activatorQueue: number;
  /** Pre-started generic replica processes kept ready for cold starts (0 = spawn every replica). @defaultValue 2 */
  warmPool: number;
}

export const DEFAULT_PLATFORM_OPTIONS: PlatformOptions = {
  host: '127.0.0.1',
  ingressPort: 8080,
  gatewayPort: 8081,
  controlPort: 8090,
  storageWebhookPort: 8085,
  stateDir: '.elastic-serving',
  channel: 'memory',
  natsUrl: 'nats://127.0.0.1:4222',
  kafkaBrokers: '127.0.0.1:9092',
  redisUrl: 'redis://127.0.0.1:6379',
  channelPrefix: 'es',
  demoDir: 'deploy/local',
  maxBodyBytes: 1024 * 1024,
  memoryMaxEvents: 100_000,
  memoryMaxBytes: 256 * 1024 * 1024,
  shutdownGraceMs: 10_000,
  logLevel: 'info',
  stableWindowMs: 60_000,
  panicWindowPercentage: 10,
  autoscalerTickMs: 2_000,
  scaleToZeroGraceMs: 30_000,
  targetBurstCapacity: 200,
  activatorQueue: 10_000,
  warmPool: 2,
};

export interface RunningPlatform {
  /** Base URLs actually bound (ports resolved when 0 was asked). */
  urls: { ingress: string; gateway: string; control: string };
  /** True when the demo's inference story runs (a StorageSource on ./bucket, where the iris model was dropped). */
  inferenceDemo?: boolean;
  /** Stops ingress first, lets deliveries finish (bounded), stops replicas, closes everything. */
  stop(): Promise<void>;
}
