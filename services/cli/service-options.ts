import type { FunctionsServiceConfig } from '../activator/main.ts';
import type { ControllerConfig } from '../controller/main.ts';
import type { RemoteStoreOptions } from '../controller/remote-store.ts';
import { parseTokenList } from '../ingress/auth.ts';
import type { IngressServiceConfig } from '../ingress/main.ts';
import type { PlatformOptions } from '../platform/options.ts';
import type { RouterServiceConfig } from '../router/main.ts';
import type { SourcesServiceConfig } from '../sources/main.ts';
import { UsageError } from './errors.ts';
import { buildPlatformOptions, type UpFlags } from './up-options.ts';

/** The services `elastic-serving <service>` runs, one per deployment. */
export type ServiceName = 'controller' | 'ingress' | 'router' | 'sources' | 'functions';

/** Flags of the service commands: `up`'s (same names, same env), plus where the other services are. */
export interface ServiceFlags extends UpFlags {
  ingressUrl?: string;
  gatewayUrl?: string;
  healthPort?: string;
}

/** Environment variables of the flags `up` does not have. */
export const SERVICE_ENV: Readonly<Record<string, string>> = {
  ingressUrl: 'ES_INGRESS_URL',
  gatewayUrl: 'ES_GATEWAY_URL',
  healthPort: 'ES_HEALTH_PORT',
};

/** Default port of each service's `/healthz`, `/readyz` and `/metrics` when it has no HTTP server of its own. */
export const HEALTH_PORTS: Readonly<Record<'router' | 'sources' | 'functions', number>> = {
  router: 8082,
  sources: 8083,
  functions: 8084,
};

/** Everything a service command reads: its flags, the environment, and the control API it talks to. */
export interface ServiceInput {
  flags: ServiceFlags;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  packageRoot: string;
  /** Control API base URL (`--server`, `ES_SERVER`). */
  server: string;
  /** Bearer token (`--token`, `ES_TOKEN`): the one the controller requires, the one the others send. */
  token?: string;
}

type Env = Readonly<Record<string, string | undefined>>;

function pick(
  flags: ServiceFlags,
  env: Env,
  key: keyof typeof SERVICE_ENV,
): { value: string; from: string } | undefined {
  const flag = flags[key as keyof ServiceFlags];
  if (typeof flag === 'string')
    return { value: flag, from: `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}` };
  const value = env[SERVICE_ENV[key]!];
  return value === undefined || value === '' ? undefined : { value, from: SERVICE_ENV[key]! };
}

function url(input: ServiceInput, key: 'ingressUrl' | 'gatewayUrl', fallback?: string): string | undefined {
  const got = pick(input.flags, input.env, key);
  if (!got) return fallback;
  try {
    const parsed = new URL(got.value);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('not http');
  } catch {
    throw new UsageError(`${got.from} ${JSON.stringify(got.value)}: expected an http(s) URL, e.g. http://ingress:8080`);
  }
  return got.value.replace(/\/+$/, '');
}

function port(input: ServiceInput, fallback: number): number {
  const got = pick(input.flags, input.env, 'healthPort');
  if (!got) return fallback;
  const n = /^\d+$/.test(got.value.trim()) ? Number(got.value.trim()) : Number.NaN;
  if (!Number.isSafeInteger(n) || n > 65535) {
    throw new UsageError(`${got.from} ${JSON.stringify(got.value)}: expected an integer from 0 to 65535`);
  }
  return n;
}

/**
 * `up`'s options, validated by the same code. Only the controller binds the control API, so only its `--host`
 * beyond loopback needs a token; the others take the host as given. Services that share a channel across
 * processes default to nats and refuse memory, which cannot be shared.
 */
function platformOptions(service: ServiceName, input: ServiceInput): PlatformOptions & { host: string } {
  const { flags, env } = input;
  const shared = service === 'ingress' || service === 'router' || service === 'functions';
  const channel = flags.channel ?? (env.ES_CHANNEL ? undefined : shared ? 'nats' : undefined);
  const controlsHost = service === 'controller';
  const options = buildPlatformOptions(
    {
      ...flags,
      ...(channel ? { channel } : {}),
      ...(controlsHost ? {} : { host: undefined }),
      ...(input.token ? { token: input.token } : {}),
      demo: false,
    },
    controlsHost ? env : { ...env, ES_HOST: undefined },
    input.cwd,
    input.packageRoot,
  );
  if (shared && options.channel === 'memory') {
    throw new UsageError(
      `${flags.channel ? '--channel' : 'ES_CHANNEL'} memory: the ${service} shares its channel with other processes; use nats, kafka or redis (or \`up\` for one process)`,
    );
  }
  return { ...options, host: controlsHost ? options.host : (flags.host ?? env.ES_HOST ?? options.host) };
}

function control(input: ServiceInput): RemoteStoreOptions {
  return { server: input.server, ...(input.token ? { token: input.token } : {}) };
}

function channels(o: PlatformOptions): IngressServiceConfig['channels'] {
  const { channel, natsUrl, kafkaBrokers, redisUrl, channelPrefix, memoryMaxEvents, memoryMaxBytes } = o;
  return { channel, natsUrl, kafkaBrokers, redisUrl, channelPrefix, memoryMaxEvents, memoryMaxBytes };
}

export function controllerConfig(input: ServiceInput): ControllerConfig {
  const o = platformOptions('controller', input);
  return {
    host: o.host,
    port: o.controlPort,
    stateDir: o.stateDir,
    logLevel: o.logLevel,
    ...(o.token ? { token: o.token } : {}),
  };
}

export function ingressConfig(input: ServiceInput): IngressServiceConfig {
  const o = platformOptions('ingress', input);
  const publicUrl = url(input, 'ingressUrl');
  const auth = parseTokenList(input.env.ES_INGRESS_TOKENS);
  return {
    host: o.host,
    port: o.ingressPort,
    ...(publicUrl ? { publicUrl } : {}),
    control: control(input),
    channels: channels(o),
    maxBodyBytes: o.maxBodyBytes,
    ...(auth ? { auth } : {}),
    logLevel: o.logLevel,
  };
}

export function routerConfig(input: ServiceInput): RouterServiceConfig {
  const o = platformOptions('router', input);
  return {
    host: o.host,
    healthPort: port(input, HEALTH_PORTS.router),
    ingressUrl: url(input, 'ingressUrl', 'http://127.0.0.1:8080')!,
    gatewayUrl: url(input, 'gatewayUrl', 'http://127.0.0.1:8081')!,
    control: control(input),
    channels: channels(o),
    shutdownGraceMs: o.shutdownGraceMs,
    logLevel: o.logLevel,
  };
}

export function sourcesConfig(input: ServiceInput): SourcesServiceConfig {
  const o = platformOptions('sources', input);
  return {
    host: o.host,
    healthPort: port(input, HEALTH_PORTS.sources),
    ingressUrl: url(input, 'ingressUrl', 'http://127.0.0.1:8080')!,
    gatewayUrl: url(input, 'gatewayUrl', 'http://127.0.0.1:8081')!,
    control: control(input),
    logLevel: o.logLevel,
    stateDir: o.stateDir,
    storageWebhookPort: o.storageWebhookPort,
  };
}

export function functionsConfig(input: ServiceInput): FunctionsServiceConfig {
  const o = platformOptions('functions', input);
  const publicUrl = url(input, 'gatewayUrl');
  return {
    host: o.host,
    port: o.gatewayPort,
    ...(publicUrl ? { publicUrl } : {}),
    healthPort: port(input, HEALTH_PORTS.functions),
    stateDir: o.stateDir,
    control: control(input),
    channels: channels(o),
    scaling: {
      stableWindowMs: o.stableWindowMs,
      panicWindowPercentage: o.panicWindowPercentage,
      autoscalerTickMs: o.autoscalerTickMs,
      scaleToZeroGraceMs: o.scaleToZeroGraceMs,
      targetBurstCapacity: o.targetBurstCapacity,
      activatorQueue: o.activatorQueue,
      warmPool: o.warmPool,
    },
    shutdownGraceMs: o.shutdownGraceMs,
    logLevel: o.logLevel,
  };
}
