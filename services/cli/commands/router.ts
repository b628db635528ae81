import type { Command } from 'commander';
import type { CommandContext } from '../context.ts';
import { CHANNEL_FLAGS, registerService } from '../service-command.ts';
import { HEALTH_PORTS, routerConfig } from '../service-options.ts';

export function registerRouter(program: Command, ctx: CommandContext): void {
  registerService(program, ctx, {
    name: 'router',
    summary: 'run the trigger router on its own (one service per deployment)',
    description:
      'run the trigger router: one subscription per Trigger on its Broker channel, filters, delivery with retries ' +
      'and dead letters, replies back to the broker. Writes Trigger status; Functions are reached over HTTP at ' +
      '--gateway-url, Brokers at --ingress-url. Needs the same channel settings as the ingress.',
    flags: ['host', 'healthPort', 'ingressUrl', 'gatewayUrl', ...CHANNEL_FLAGS, 'shutdownGraceMs', 'logLevel'],
    defaults: {
      healthPort: String(HEALTH_PORTS.router),
      ingressUrl: 'http://127.0.0.1:8080',
      gatewayUrl: 'http://127.0.0.1:8081',
    },
    config: routerConfig,
    start: async (config, options) => (await import('../../router/main.ts')).startRouterService(config, options),
    examples: [
      'elastic-serving router --server http://127.0.0.1:8090',
      'elastic-serving router --channel redis --redis redis://10.0.0.7:6379 --gateway-url http://functions:8081',
    ],
  });
}
