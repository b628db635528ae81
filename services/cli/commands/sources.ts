import type { Command } from 'commander';
import type { CommandContext } from '../context.ts';
import { registerService } from '../service-command.ts';
import { HEALTH_PORTS, sourcesConfig } from '../service-options.ts';

export function registerSources(program: Command, ctx: CommandContext): void {
  registerService(program, ctx, {
    name: 'sources',
    summary: 'run the event sources on its own (one service per deployment)',
    description:
      'run the event sources: PingSources and StorageSources from the control API (their status is written here), ' +
      'each event posted to its sink — a Broker at --ingress-url, a Function at --gateway-url, or any URI; storage ' +
      'checkpoints live in --state-dir and notification webhooks listen on --storage-webhook-port.',
    flags: ['host', 'healthPort', 'storageWebhookPort', 'stateDir', 'ingressUrl', 'gatewayUrl', 'logLevel'],
    defaults: {
      healthPort: String(HEALTH_PORTS.sources),
      ingressUrl: 'http://127.0.0.1:8080',
      gatewayUrl: 'http://127.0.0.1:8081',
    },
    config: sourcesConfig,
    start: async (config, options) => (await import('../../sources/main.ts')).startSourcesService(config, options),
    examples: [
      'elastic-serving sources --server http://127.0.0.1:8090',
      'ES_SERVER=http://controller:8090 elastic-serving sources --ingress-url http://ingress:8080 --host 0.0.0.0',
    ],
  });
}
