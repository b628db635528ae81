import type { Command } from 'commander';
import type { CommandContext } from '../context.ts';
import { registerService } from '../service-command.ts';
import { controllerConfig } from '../service-options.ts';

export function registerController(program: Command, ctx: CommandContext): void {
  registerService(program, ctx, {
    name: 'controller',
    summary: 'run the control API on its own (one service per deployment)',
    description:
      'run the control API over the file-backed resource store, and nothing else: the ingress, router, sources and ' +
      'functions services reconcile against it over HTTP. Beyond loopback a --token is required.',
    flags: ['host', 'controlPort', 'stateDir', 'token', 'logLevel'],
    config: controllerConfig,
    start: async (config, options) =>
      (await import('../../controller/main.ts')).startControllerService(config, options),
    examples: [
      'elastic-serving controller',
      'elastic-serving controller --control-port 9090 --state-dir /var/lib/elastic-serving',
      'ES_TOKEN="$(openssl rand -hex 16)" elastic-serving controller --host 0.0.0.0',
    ],
  });
}
