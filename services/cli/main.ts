import { Command, CommanderError } from 'commander';
import { registerApply } from './commands/apply.ts';
import { registerBatch } from './commands/batch.ts';
import { registerController } from './commands/controller.ts';
import { registerDelete } from './commands/delete.ts';
import { registerDescribe } from './commands/describe.ts';
import { registerFunctions } from './commands/functions.ts';
import { registerGet } from './commands/get.ts';
import { registerIngress } from './commands/ingress.ts';
import { registerLogs } from './commands/logs.ts';
import { registerRouter } from './commands/router.ts';
import { registerSend } from './commands/send.ts';
import { registerSources } from './commands/sources.ts';
import { registerUp, type StartPlatform } from './commands/up.ts';
import { registerVersion } from './commands/version.ts';
import { createContext, DEFAULT_SERVER, examples } from './context.ts';
import { CliError } from './errors.ts';
import { type CliIo, processIo } from './io.ts';
import { packageVersion } from './package-info.ts';

export type { StartPlatform } from './commands/up.ts';
export type { CliIo } from './io.ts';

/** Seams for tests; production uses the defaults. */
export interface CliOverrides {
  /** Replaces the embedded platform `up` starts. @defaultValue startPlatform from services/platform/platform.ts */
  startPlatform?: StartPlatform;
}

function buildProgram(io: CliIo, overrides: CliOverrides): Command {
  const program = new Command('elastic-serving');
  program
    .description('event-driven serverless functions for model inference: a kubectl-shaped CLI for the control plane')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) })
    .showHelpAfterError('(add --help for usage)')
    .version(packageVersion(), '-V, --version', 'print the version')
    .option('--server <url>', `control API base URL (env ES_SERVER, default ${DEFAULT_SERVER})`)
    .option('--token <token>', 'bearer token for the control API (env ES_TOKEN)')
    .option('-n, --namespace <ns>', 'namespace (env ES_NAMESPACE, default "default")')
    .addHelpText(
      'after',
      examples(
        'elastic-serving up',
        'elastic-serving apply -f deploy/local/',
        'elastic-serving get triggers',
        'elastic-serving describe function echo',
        `elastic-serving send --type dev.elasticserving.demo --source /me --data '{"hello":"world"}'`,
      ),
    );
  const ctx = createContext(io);
  registerUp(program, ctx, overrides.startPlatform);
  registerApply(program, ctx);
  registerGet(program, ctx);
  registerDescribe(program, ctx);
  registerDelete(program, ctx);
  registerLogs(program, ctx);
  registerSend(program, ctx);
  registerBatch(program, ctx);
  registerVersion(program, ctx);
  // One service per deployment (Docker, Kubernetes): the pieces `up` runs together.
  registerController(program, ctx);
  registerIngress(program, ctx);
  registerRouter(program, ctx);
  registerSources(program, ctx);
  registerFunctions(program, ctx);
  return program;
}

/**
 * Runs the CLI on `argv` (without node and script, e.g. `['get', 'triggers']`) and resolves with the exit code:
 * 0 success, 1 failure (one `error: …` line, plus detail lines), 2 usage error. Never calls `process.exit`.
 */
export async function runCli(
  argv: readonly string[],
  io: CliIo = processIo(),
  overrides: CliOverrides = {},
): Promise<number> {
  const program = buildProgram(io, overrides);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander has already printed help or its message; help/version exit 0, any usage mistake 2.
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof CliError) {
      io.stderr(`error: ${err.message}\n`);
      for (const line of err.details) io.stderr(`  ${line}\n`);
      return err.exitCode;
    }
    const message = err instanceof Error ? err.message : String(err);
    io.stderr(`error: ${message}\n`);
    if (io.env.ES_DEBUG && err instanceof Error && err.stack) io.stderr(`${err.stack}\n`);
    return 1;
  }
}

/** Entry point of bin/elastic-serving.mjs. */
export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  const code = await runCli(argv);
  // A command that failed half-way (`up` whose last port was taken) may hold listeners it never handed over:
  // the error is printed, so end now rather than linger deaf to SIGTERM.
  if (code !== 0) process.exit(code);
  process.exitCode = code;
}
