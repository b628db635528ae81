import { resolve } from 'node:path';
import { DEFAULT_PLATFORM_OPTIONS, type PlatformOptions } from '../platform/options.ts';
import { UsageError } from './errors.ts';

/** Flags of `up` as commander hands them over (strings; `demo` false after `--no-demo`). */
export interface UpFlags {
  host?: string;
  ingressPort?: string;
  gatewayPort?: string;
  controlPort?: string;
  storageWebhookPort?: string;
  stateDir?: string;
  channel?: string;
  nats?: string;
  kafka?: string;
  redis?: string;
  channelPrefix?: string;
  token?: string;
  demo?: boolean;
  demoDir?: string;
  maxBodyBytes?: string;
  memoryMaxEvents?: string;
  memoryMaxBytes?: string;
  shutdownGraceMs?: string;
  logLevel?: string;
  stableWindowMs?: string;
  panicWindowPercentage?: string;
  autoscalerTickMs?: string;
  scaleToZeroGraceMs?: string;
  targetBurstCapacity?: string;
  activatorQueue?: string;
  warmPool?: string;
}

/** Environment variables `up` reads, flag name → variable; `--help` prints this list. */
export const UP_ENV: Readonly<Record<string, string>> = {
  host: 'ES_HOST',
  ingressPort: 'ES_INGRESS_PORT',
  gatewayPort: 'ES_GATEWAY_PORT',
  controlPort: 'ES_CONTROL_PORT',
  storageWebhookPort: 'ES_STORAGE_WEBHOOK_PORT',
  stateDir: 'ES_STATE_DIR',
  channel: 'ES_CHANNEL',
  nats: 'ES_NATS_URL',
  kafka: 'ES_KAFKA_BROKERS',
  redis: 'ES_REDIS_URL',
  channelPrefix: 'ES_CHANNEL_PREFIX',
  token: 'ES_TOKEN',
  demoDir: 'ES_DEMO_DIR',
  maxBodyBytes: 'ES_MAX_BODY_BYTES',
  memoryMaxEvents: 'ES_MEMORY_MAX_EVENTS',
  memoryMaxBytes: 'ES_MEMORY_MAX_BYTES',
  shutdownGraceMs: 'ES_SHUTDOWN_GRACE_MS',
  logLevel: 'ES_LOG_LEVEL',
  stableWindowMs: 'ES_STABLE_WINDOW_MS',
  panicWindowPercentage: 'ES_PANIC_WINDOW_PERCENTAGE',
  autoscalerTickMs: 'ES_AUTOSCALER_TICK_MS',
  scaleToZeroGraceMs: 'ES_SCALE_TO_ZERO_GRACE_MS',
  targetBurstCapacity: 'ES_TARGET_BURST_CAPACITY',
  activatorQueue: 'ES_ACTIVATOR_QUEUE',
  warmPool: 'ES_WARM_POOL',
};

const CHANNELS: readonly PlatformOptions['channel'][] = ['memory', 'nats', 'kafka', 'redis'];
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function flagName(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** True for addresses that never leave the machine. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * Turns `up` flags and `ES_*` variables into `PlatformOptions` (flag > env > default), with paths made absolute.
 * The default demo directory is the package's own `deploy/local`, so `npx elastic-serving up` works from anywhere.
 * @throws UsageError naming the flag (or variable) with a bad value.
 */
export function buildPlatformOptions(
  flags: UpFlags,
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
  packageRoot: string,
): PlatformOptions {
  const pick = (key: keyof UpFlags & string): { value: string; from: string } | undefined => {
    const flag = flags[key];
    if (typeof flag === 'string') return { value: flag, from: flagName(key) };
    const name = UP_ENV[key];
    const fromEnv = name === undefined ? undefined : env[name];
    return fromEnv === undefined || fromEnv === '' ? undefined : { value: fromEnv, from: name! };
  };
  const int = (key: keyof UpFlags & string, fallback: number, max: number, min = 0): number => {
    const got = pick(key);
    if (!got) return fallback;
    const n = /^\d+$/.test(got.value.trim()) ? Number(got.value.trim()) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new UsageError(`${got.from} ${JSON.stringify(got.value)}: expected an integer from ${min} to ${max}`);
    }
    return n;
  };
  const d = DEFAULT_PLATFORM_OPTIONS;
  const host = pick('host')?.value ?? d.host;
  const channelPick = pick('channel');
  const channel = (channelPick?.value ?? d.channel) as PlatformOptions['channel'];
  if (!CHANNELS.includes(channel)) {
    throw new UsageError(`${channelPick?.from} ${JSON.stringify(channel)}: expected one of ${CHANNELS.join(', ')}`);
  }
  const prefixPick = pick('channelPrefix');
  const prefix = prefixPick?.value ?? d.channelPrefix;
  if (!/^[a-z0-9][a-z0-9-]{0,39}$/.test(prefix)) {
    throw new UsageError(`${prefixPick?.from} ${JSON.stringify(prefix)}: expected 1-40 of a-z, 0-9 and -`);
  }
  const levelPick = pick('logLevel');
  const logLevel = levelPick?.value ?? d.logLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new UsageError(`${levelPick?.from} ${JSON.stringify(logLevel)}: expected one of ${LOG_LEVELS.join(', ')}`);
  }
  const token = pick('token')?.value;
  if (!isLoopback(host) && !token) {
    throw new UsageError(
      `--host ${host} exposes the control API beyond this machine and it can start processes: pass --token or set ES_TOKEN`,
    );
  }
  const noDemo = flags.demo === false || /^(1|true|yes)$/i.test(env.ES_NO_DEMO ?? '');
  const demoPick = pick('demoDir');
  let demoDir: string | false;
  if (noDemo || (demoPick && /^(none|false)$/i.test(demoPick.value))) demoDir = false;
  else if (demoPick) demoDir = resolve(cwd, demoPick.value);
  else demoDir = d.demoDir === false ? false : resolve(packageRoot, d.demoDir);
  const PORT_MAX = 65535;
  return {
    host,
    ingressPort: int('ingressPort', d.ingressPort, PORT_MAX),
    gatewayPort: int('gatewayPort', d.gatewayPort, PORT_MAX),
    controlPort: int('controlPort', d.controlPort, PORT_MAX),
    storageWebhookPort: int('storageWebhookPort', d.storageWebhookPort, PORT_MAX),
    stateDir: resolve(cwd, pick('stateDir')?.value ?? d.stateDir),
    channel,
    natsUrl: pick('nats')?.value ?? d.natsUrl,
    kafkaBrokers: pick('kafka')?.value ?? d.kafkaBrokers,
    redisUrl: pick('redis')?.value ?? d.redisUrl,
    channelPrefix: prefix,
    ...(token ? { token } : {}),
    demoDir,
    maxBodyBytes: int('maxBodyBytes', d.maxBodyBytes, 2 ** 31 - 1, 1),
    memoryMaxEvents: int('memoryMaxEvents', d.memoryMaxEvents, Number.MAX_SAFE_INTEGER, 1),
    memoryMaxBytes: int('memoryMaxBytes', d.memoryMaxBytes, Number.MAX_SAFE_INTEGER, 1),
    shutdownGraceMs: int('shutdownGraceMs', d.shutdownGraceMs, Number.MAX_SAFE_INTEGER),
    logLevel,
    stableWindowMs: int('stableWindowMs', d.stableWindowMs, 3_600_000, 1000),
    panicWindowPercentage: int('panicWindowPercentage', d.panicWindowPercentage, 100, 1),
    autoscalerTickMs: int('autoscalerTickMs', d.autoscalerTickMs, 600_000, 10),
    scaleToZeroGraceMs: int('scaleToZeroGraceMs', d.scaleToZeroGraceMs, 3_600_000),
    // -1 (activator always in the path) is the one negative value allowed.
    targetBurstCapacity:
      pick('targetBurstCapacity')?.value.trim() === '-1'
        ? -1
        : int('targetBurstCapacity', d.targetBurstCapacity, Number.MAX_SAFE_INTEGER),
    activatorQueue: int('activatorQueue', d.activatorQueue, 10_000_000, 1),
    warmPool: int('warmPool', d.warmPool, 64),
  };
}
