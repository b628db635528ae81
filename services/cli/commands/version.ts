import type { Command } from 'commander';
import { type CommandContext, examples } from '../context.ts';
import { packageVersion } from '../package-info.ts';

export function registerVersion(program: Command, ctx: CommandContext): void {
  program
    .command('version')
    .description('print the elastic-serving version')
    .addHelpText('after', examples('elastic-serving version'))
    .action(() => {
      ctx.io.stdout(`elastic-serving ${packageVersion()} (node ${process.versions.node})\n`);
    });
}
