import { type Command, Option } from 'commander';
import type { PlatformOptions, RunningPlatform } from '../../platform/options.ts';
import { type CommandContext, examples } from '../context.ts';
import { CliError } from '../errors.ts';
import { PACKAGE_ROOT } from '../package-info.ts';
import { buildPlatformOptions, UP_ENV, type UpFlags } from '../up-options.ts';

/** Starts the embedded platform; the real one is imported only when `up` runs, so other commands stay light. */
export type StartPlatform = (options: PlatformOptions) => Promise<RunningPlatform>;

async function defaultStartPlatform(options: PlatformOptions): Promise<RunningPlatform> {
  const { startPlatform } = await import('../../platform/platform.ts');
  return startPlatform(options);
}

const IRIS_ROW = '{"inputs":[{"name":"input","shape":[1,4],"datatype":"FP32","data":[5.1,3.5,1.4,0.2]}]}';

/** How to use the inference demo: the iris model dropped into ./bucket is served by InferenceService `models`. */
function inferenceLines(ingress: string, gateway: string, ingressFlag: string, serverFlag: string): string[] {
  return [
    'Inference (./bucket/models/iris/model.onnx was built at start; drop more models under ./bucket/models/<name>/):',
    `  curl -s -X POST ${gateway}/default/models/v2/models/iris/infer -H 'content-type: application/json' \\`,
    `       -d '${IRIS_ROW}'`,
    `  curl -i -X POST ${ingress}/default/default -H 'ce-specversion: 1.0' -H 'ce-id: 2' -H 'ce-source: /me' \\`,
    `       -H 'ce-type: dev.elasticserving.inference.request' -H 'ce-model: iris' -H 'content-type: application/json' \\`,
    `       -d '${IRIS_ROW}'`,
    `  npx elastic-serving${serverFlag} get trainedmodels`,
    `  npx elastic-serving${serverFlag}${ingressFlag} batch submit --model iris --input rows.jsonl --output scored.jsonl`,
    '',
  ];
}

/** What `up` prints once everything listens: addresses and how to send a first event. */
export function upBanner(options: PlatformOptions, running: RunningPlatform): string {
  const { ingress, gateway, control } = running.urls;
  const ingressFlag = ingress === 'http://127.0.0.1:8080' ? '' : ` --ingress ${ingress}`;
  const serverFlag = control === 'http://127.0.0.1:8090' ? '' : ` --server ${control}`;
  const lines = [
    'elastic-serving is up',
    `  broker ingress    ${ingress}/{namespace}/{broker}`,
    `  function gateway  ${gateway}/{namespace}/{function}/`,
    `  control API       ${control}${options.token ? ' (bearer token required)' : ''}`,
    `  state directory   ${options.stateDir}`,
    `  channel           ${options.channel}${options.channel === 'memory' ? ' (in memory: events do not survive a restart)' : ''}`,
    options.demoDir === false ? '  demo              off' : `  demo              applied from ${options.demoDir}`,
    '',
    'Send an event:',
    `  curl -i -X POST ${ingress}/default/default -H 'ce-specversion: 1.0' -H 'ce-id: 1' -H 'ce-source: /me' \\`,
    `       -H 'ce-type: dev.elasticserving.demo' -H 'content-type: application/json' -d '{"hello":"world"}'`,
    `  npx elastic-serving send${ingressFlag} --type dev.elasticserving.demo --source /me --data '{"hello":"world"}'`,
    `  npx elastic-serving${serverFlag} get triggers`,
    '',
    ...(running.inferenceDemo ? inferenceLines(ingress, gateway, ingressFlag, serverFlag) : []),
    'Press Ctrl+C to stop.',
  ];
  return `${lines.join('\n')}\n`;
}

export function registerUp(program: Command, ctx: CommandContext, start: StartPlatform = defaultStartPlatform): void {
  const d = (flag: string, text: string, dflt?: string): string =>
    `${text} (env ${UP_ENV[flag]}${dflt === undefined ? '' : `, default ${dflt}`})`;
  program
    .command('up')
    .summary('run the embedded platform in this process')
    .description(
      'run the embedded platform in this process (ingress, router, activator, functions, control API) until Ctrl+C',
    )
    .option('--host <host>', d('host', 'interface to bind; beyond loopback a --token is required', '127.0.0.1'))
    .option('--ingress-port <port>', d('ingressPort', 'broker ingress port', '8080'))
    .option('--gateway-port <port>', d('gatewayPort', 'function gateway port', '8081'))
    .option('--control-port <port>', d('controlPort', 'control API port', '8090'))
    .option(
      '--storage-webhook-port <port>',
      d('storageWebhookPort', 'port of StorageSource notification webhooks', '8085'),
    )
    .option(
      '--state-dir <dir>',
      d('stateDir', 'state directory: resources, transpiled handlers, logs', '.elastic-serving'),
    )
    .addOption(
      new Option('--channel <kind>', d('channel', 'default channel for brokers', 'memory')).choices([
        'memory',
        'nats',
        'kafka',
        'redis',
      ]),
    )
    .option('--nats <url>', d('nats', 'NATS servers of the nats channel', 'nats://127.0.0.1:4222'))
    .option(
      '--kafka <brokers>',
      d('kafka', 'Kafka bootstrap brokers (host:port,…) of the kafka channel', '127.0.0.1:9092'),
    )
    .option('--redis <url>', d('redis', 'Redis of the redis channel and batch queues', 'redis://127.0.0.1:6379'))
    .option(
      '--channel-prefix <prefix>',
      d('channelPrefix', 'prefix of the streams, topics and groups made on shared engines', 'es'),
    )
    .option('--token <token>', d('token', 'bearer token the control API requires'))
    .option('--no-demo', 'do not apply the demo resources (env ES_NO_DEMO=1)')
    .option(
      '--demo-dir <dir>',
      d('demoDir', 'resource YAML applied at start; "none" disables', 'the package deploy/local'),
    )
    .option('--max-body-bytes <n>', d('maxBodyBytes', 'ingress body limit in bytes', '1048576'))
    .option('--memory-max-events <n>', d('memoryMaxEvents', 'memory channel bound in events', '100000'))
    .option('--memory-max-bytes <n>', d('memoryMaxBytes', 'memory channel bound in bytes', '268435456'))
    .option(
      '--shutdown-grace-ms <ms>',
      d('shutdownGraceMs', 'how long shutdown waits for in-flight deliveries', '10000'),
    )
    .addOption(
      new Option('--log-level <level>', d('logLevel', 'log level', 'info')).choices([
        'fatal',
        'error',
        'warn',
        'info',
        'debug',
        'trace',
        'silent',
      ]),
    )
    .option('--stable-window-ms <ms>', d('stableWindowMs', 'autoscaler stable window', '60000'))
    .option(
      '--panic-window-percentage <n>',
      d('panicWindowPercentage', 'autoscaler panic window, % of the stable window', '10'),
    )
    .option('--autoscaler-tick-ms <ms>', d('autoscalerTickMs', 'how often the autoscaler decides', '2000'))
    .option(
      '--scale-to-zero-grace-ms <ms>',
      d('scaleToZeroGraceMs', 'idle time after the stable window before scaling to zero', '30000'),
    )
    .option(
      '--target-burst-capacity <n>',
      d('targetBurstCapacity', 'activator in the path below this spare capacity; 0 only at zero, -1 always', '200'),
    )
    .option('--activator-queue <n>', d('activatorQueue', 'requests held per function before 503', '10000'))
    .option('--warm-pool <n>', d('warmPool', 'pre-started replica processes for fast cold starts; 0 = off', '2'))
    .addHelpText(
      'after',
      `\nFlags win over environment variables, which win over defaults.${examples(
        'elastic-serving up',
        'elastic-serving up --no-demo --ingress-port 9080 --state-dir /tmp/es',
        'ES_CHANNEL=nats elastic-serving up --log-level debug',
        'elastic-serving up --channel kafka --kafka 10.0.0.5:9092',
        'elastic-serving up --host 0.0.0.0 --token "$(openssl rand -hex 16)"',
      )}`,
    )
    .action(async (flags: UpFlags, command: Command) => {
      // `--token` is also a global option (the client side); commander gives it to whichever level saw it.
      const token = flags.token ?? command.optsWithGlobals<{ token?: string }>().token;
      const options = buildPlatformOptions(
        { ...flags, ...(token ? { token } : {}) },
        ctx.io.env,
        ctx.io.cwd,
        PACKAGE_ROOT,
      );
      // Listen for signals before starting: a SIGTERM that lands mid-start still stops replicas cleanly.
      const shutdown = ctx.io.waitForShutdown();
      let running: RunningPlatform;
      try {
        running = await start(options);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
          throw new CliError(
            `${(err as Error).message} — is another \`elastic-serving up\` running? ` +
              'Pick free ports with --ingress-port, --gateway-port, --control-port and --storage-webhook-port.',
            { cause: err },
          );
        }
        throw err;
      }
      ctx.io.stdout(upBanner(options, running));
      const signal = await shutdown;
      ctx.io.stderr(
        `${signal}: stopping (up to ${options.shutdownGraceMs} ms for in-flight deliveries; again to force)\n`,
      );
      await running.stop();
      ctx.io.stderr('stopped\n');
      // Whatever handle a service forgot to close, `up` ends here, as promised to process supervisors.
      ctx.io.exit?.(0);
    });
}
