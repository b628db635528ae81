import type { Command } from 'commander';
import type { CommandContext } from '../context.ts';
import { CHANNEL_FLAGS, registerService } from '../service-command.ts';
import { functionsConfig, HEALTH_PORTS } from '../service-options.ts';

export function registerFunctions(program: Command, ctx: CommandContext): void {
  registerService(program, ctx, {
    name: 'functions',
    summary: 'run the function gateway, activator, autoscaler and replicas on their own',
    description:
      'run the functions service: the gateway with the activator behind it, the autoscaler, and Function replicas ' +
      'as local processes. Writes Function status (address = --gateway-url); reads Trigger lag from the channel ' +
      'engine as the queue depth of the Functions they deliver to.',
    flags: [
      'host',
      'gatewayPort',
      'gatewayUrl',
      'healthPort',
      'stateDir',
      ...CHANNEL_FLAGS,
      'stableWindowMs',
      'panicWindowPercentage',
      'autoscalerTickMs',
      'scaleToZeroGraceMs',
      'targetBurstCapacity',
      'activatorQueue',
      'warmPool',
      'shutdownGraceMs',
      'logLevel',
    ],
    defaults: { healthPort: String(HEALTH_PORTS.functions) },
    config: functionsConfig,
    start: async (config, options) => (await import('../../activator/main.ts')).startFunctionsService(config, options),
    examples: [
      'elastic-serving functions --server http://127.0.0.1:8090',
      'ES_SERVER=http://controller:8090 elastic-serving functions --host 0.0.0.0 --gateway-url http://functions:8081',
    ],
  });
}
