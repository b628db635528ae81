import type { Command } from 'commander';
import { applyManifests } from '../apply.ts';
import { type CommandContext, collect, examples } from '../context.ts';
import { loadManifests } from '../manifests.ts';

export function registerApply(program: Command, ctx: CommandContext): void {
  program
    .command('apply')
    .summary('create or update resources from YAML/JSON manifests')
    .description(
      'create or update resources from YAML/JSON manifests; every document is checked before anything is written, ' +
        'and a refusal by the server rolls back what this run wrote',
    )
    .requiredOption(
      '-f, --filename <path>',
      'file, directory (its .yaml/.yml/.json files, sorted) or - for stdin; repeatable',
      collect,
    )
    .option('--dry-run', 'validate every object on the server and print what would happen, storing nothing')
    .addHelpText(
      'after',
      examples(
        'elastic-serving apply -f deploy/local/',
        'elastic-serving apply -f broker.yaml -f triggers.yaml -n staging',
        'cat trigger.yaml | elastic-serving apply -f -',
      ),
    )
    .action(async (opts: { filename: string[]; dryRun?: boolean }, command: Command) => {
      const { namespace } = ctx.globals(command);
      const manifests = await loadManifests(opts.filename, namespace, ctx.io);
      await applyManifests(
        ctx.client(command),
        manifests,
        (line) => ctx.io.stdout(`${line}\n`),
        (line) => ctx.io.stderr(`${line}\n`),
        { dryRun: opts.dryRun === true },
      );
    });
}
