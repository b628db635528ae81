import { type Command, Option } from 'commander';
import type { RunningService, ServiceStartOptions } from '../controller/service-kit.ts';
import { type CommandContext, examples } from './context.ts';
import { CliError } from './errors.ts';
import { PACKAGE_ROOT } from './package-info.ts';
import { SERVICE_ENV, type ServiceFlags, type ServiceInput, type ServiceName } from './service-options.ts';
import { UP_ENV } from './up-options.ts';

// memory is not offered: a channel held in one process cannot be shared by the ingress and the router.
const CHANNELS = ['nats', 'kafka', 'redis'];
const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Every flag a service command may take: text and default, the same words as `up` where `up` has the flag. */
const FLAGS: Readonly<Record<string, { flags: string; text: string; dflt?: string; choices?: string[] }>> = {
  host: { flags: '--host <host>', text: 'interface to bind', dflt: '127.0.0.1' },
  controlPort: { flags: '--control-port <port>', text: 'control API port', dflt: '8090' },
  storageWebhookPort: {
    flags: '--storage-webhook-port <port>',
    text: 'port of StorageSource notification webhooks',
    dflt: '8085',
  },
  ingressPort: { flags: '--ingress-port <port>', text: 'broker ingress port', dflt: '8080' },
  gatewayPort: { flags: '--gateway-port <port>', text: 'function gateway port', dflt: '8081' },
  healthPort: { flags: '--health-port <port>', text: 'port of /healthz, /readyz and /metrics' },
  stateDir: { flags: '--state-dir <dir>', text: 'state directory', dflt: '.elastic-serving' },
  channel: { flags: '--channel <kind>', text: 'default channel for brokers', dflt: 'nats', choices: CHANNELS },
  nats: { flags: '--nats <url>', text: 'NATS servers of the nats channel', dflt: 'nats://127.0.0.1:4222' },
  kafka: { flags: '--kafka <brokers>', text: 'Kafka bootstrap brokers (host:port,…)', dflt: '127.0.0.1:9092' },
  redis: { flags: '--redis <url>', text: 'Redis of the redis channel', dflt: 'redis://127.0.0.1:6379' },
  channelPrefix: {
    flags: '--channel-prefix <prefix>',
    text: 'prefix of the streams, topics and groups made on shared engines (the same in every service)',
    dflt: 'es',
  },
  ingressUrl: { flags: '--ingress-url <url>', text: 'broker ingress base URL as the other services reach it' },
  gatewayUrl: { flags: '--gateway-url <url>', text: 'function gateway base URL as the other services reach it' },
  token: { flags: '--token <token>', text: 'bearer token the control API requires' },
  maxBodyBytes: { flags: '--max-body-bytes <n>', text: 'ingress body limit in bytes', dflt: '1048576' },
  shutdownGraceMs: {
    flags: '--shutdown-grace-ms <ms>',
    text: 'how long stopping waits for work in flight',
    dflt: '10000',
  },
  logLevel: { flags: '--log-level <level>', text: 'log level', dflt: 'info', choices: LEVELS },
  stableWindowMs: { flags: '--stable-window-ms <ms>', text: 'autoscaler stable window', dflt: '60000' },
  panicWindowPercentage: { flags: '--panic-window-percentage <n>', text: 'panic window, % of stable', dflt: '10' },
  autoscalerTickMs: { flags: '--autoscaler-tick-ms <ms>', text: 'how often the autoscaler decides', dflt: '2000' },
  scaleToZeroGraceMs: { flags: '--scale-to-zero-grace-ms <ms>', text: 'idle time before zero', dflt: '30000' },
  targetBurstCapacity: { flags: '--target-burst-capacity <n>', text: 'activator burst capacity', dflt: '200' },
  activatorQueue: { flags: '--activator-queue <n>', text: 'requests held per function before 503', dflt: '10000' },
  warmPool: { flags: '--warm-pool <n>', text: 'pre-started replica processes; 0 = off', dflt: '2' },
};

export const CHANNEL_FLAGS = ['channel', 'nats', 'kafka', 'redis', 'channelPrefix'];

/** One service command: its flags, how to turn them into a config, and how to start it. */
export interface ServiceCommandSpec<Config> {
  name: ServiceName;
  summary: string;
  description: string;
  /** Keys of FLAGS, in help order. */
  flags: readonly string[];
  /** Defaults that differ from the table (e.g. the health port). */
  defaults?: Readonly<Record<string, string>>;
  config(input: ServiceInput): Config;
  /** Imported only when the command runs, so the rest of the CLI stays light. */
  start(config: Config, options: ServiceStartOptions): Promise<RunningService>;
  examples: readonly string[];
}

function describeFlag(key: string, dflt: string | undefined): string {
  const f = FLAGS[key]!;
  const env = UP_ENV[key] ?? SERVICE_ENV[key];
  const value = dflt ?? f.dflt;
  return `${f.text} (env ${env}${value === undefined ? '' : `, default ${value}`})`;
}

/** The lines a service prints once it listens: the e2e tests and users read where it is. */
export function serviceBanner(name: string, running: RunningService): string {
  const lines = [`elastic-serving ${name} is up`];
  for (const [role, url] of Object.entries(running.urls)) lines.push(`  ${role.padEnd(8)} ${url}`);
  return `${lines.join('\n')}\n`;
}

export function registerService<Config>(program: Command, ctx: CommandContext, spec: ServiceCommandSpec<Config>): void {
  const cmd = program.command(spec.name).summary(spec.summary).description(spec.description);
  for (const key of spec.flags) {
    const f = FLAGS[key]!;
    const option = new Option(f.flags, describeFlag(key, spec.defaults?.[key]));
    cmd.addOption(f.choices ? option.choices(f.choices) : option);
  }
  const common =
    spec.name === 'controller' ? '' : '\nThe control API is --server (env ES_SERVER) with --token (env ES_TOKEN).\n';
  cmd.addHelpText(
    'after',
    `\nFlags win over environment variables, which win over defaults.${common}${examples(...spec.examples)}`,
  );
  cmd.action(async (flags: ServiceFlags, command: Command) => {
    const globals = ctx.globals(command);
    // `--token` is a global option too; commander hands it to whichever level saw it.
    const token = flags.token ?? globals.token;
    const config = spec.config({
      flags,
      env: ctx.io.env,
      cwd: ctx.io.cwd,
      packageRoot: PACKAGE_ROOT,
      server: globals.server,
      ...(token ? { token } : {}),
    });
    // Listen for signals before starting: a SIGTERM while waiting for the control API ends the wait.
    const shutdown = ctx.io.waitForShutdown();
    const abort = new AbortController();
    void shutdown.then(() => abort.abort());
    let running: RunningService;
    try {
      running = await spec.start(config, { signal: abort.signal });
    } catch (err) {
      if (abort.signal.aborted) {
        ctx.io.stderr(`stopped before ${spec.name} was up\n`);
        ctx.io.exit?.(0);
        return;
      }
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
        throw new CliError(`${(err as Error).message} — pick a free port (see --help)`, { cause: err });
      }
      throw err;
    }
    ctx.io.stdout(serviceBanner(spec.name, running));
    const signal = await shutdown;
    ctx.io.stderr(`${signal}: stopping ${spec.name} (again to force)\n`);
    await running.stop();
    ctx.io.stderr('stopped\n');
    ctx.io.exit?.(0);
  });
}
