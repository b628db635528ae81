import type { Command } from 'commander';
import type { CommandContext } from '../context.ts';
import { CHANNEL_FLAGS, registerService } from '../service-command.ts';
import { ingressConfig } from '../service-options.ts';

export function registerIngress(program: Command, ctx: CommandContext): void {
  registerService(program, ctx, {
    name: 'ingress',
    summary: 'run the broker ingress on its own (one service per deployment)',
    description:
      'run the broker ingress: reconciles Brokers from the control API (and writes their status), creates their ' +
      'streams/topics on the channel engine and answers POST /{namespace}/{broker} with 202 once events are stored. ' +
      'Publisher tokens come from ES_INGRESS_TOKENS, as for `up`.',
    flags: ['host', 'ingressPort', 'ingressUrl', ...CHANNEL_FLAGS, 'maxBodyBytes', 'logLevel'],
    config: ingressConfig,
    start: async (config, options) => (await import('../../ingress/main.ts')).startIngressService(config, options),
    examples: [
      'elastic-serving ingress --server http://127.0.0.1:8090',
      'elastic-serving ingress --channel kafka --kafka 10.0.0.5:9092 --ingress-port 9080',
      'ES_SERVER=http://controller:8090 ES_NATS_URL=nats://nats:4222 elastic-serving ingress --host 0.0.0.0 --ingress-url http://ingress:8080',
    ],
  });
}
