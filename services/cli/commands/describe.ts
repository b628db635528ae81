import type { Command } from 'commander';
import { type CommandContext, examples } from '../context.ts';
import { describeObject } from '../describe.ts';
import { resolveKind } from '../kinds.ts';
import { findByName, notFound } from '../lookup.ts';

export function registerDescribe(program: Command, ctx: CommandContext): void {
  program
    .command('describe')
    .summary('show one resource in detail')
    .description('show one resource in detail: spec, status conditions (Ready, reason, message) and address')
    .argument('<kind>', 'kind: singular, plural or short name (fn, isvc, tm, …), optionally .group-qualified')
    .argument('<name>', 'object name')
    .addHelpText(
      'after',
      examples('elastic-serving describe function iris', 'elastic-serving describe trigger iris-infer -n demo'),
    )
    .action(async (kind: string, name: string, _opts: unknown, command: Command) => {
      const resolved = resolveKind(kind);
      const { namespace } = ctx.globals(command);
      const found = await findByName(ctx.client(command), resolved, namespace, name);
      if (found.length === 0) throw notFound(resolved, namespace, name);
      ctx.io.stdout(found.map((o) => describeObject(o)).join('\n'));
    });
}
