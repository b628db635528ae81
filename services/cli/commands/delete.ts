import type { Command } from 'commander';
import { type CommandContext, collect, examples } from '../context.ts';
import { CliError, UsageError } from '../errors.ts';
import { parseApiVersion, pluralForKind, qualifiedKind, resolveKind } from '../kinds.ts';
import { loadManifests } from '../manifests.ts';

interface DeleteOptions {
  filename?: string[];
  ignoreNotFound?: boolean;
}

export function registerDelete(program: Command, ctx: CommandContext): void {
  program
    .command('delete')
    .summary('delete resources by kind and name, or from manifests')
    .description('delete resources by kind and name, or every resource named in manifests (-f)')
    .argument('[kind]', 'kind: singular, plural or short name, optionally .group-qualified')
    .argument('[names...]', 'names of the objects to delete')
    .option('-f, --filename <path>', 'file, directory or - naming the resources to delete; repeatable', collect)
    .option('--ignore-not-found', 'treat objects that do not exist as deleted')
    .addHelpText(
      'after',
      examples(
        'elastic-serving delete trigger iris-infer',
        'elastic-serving delete fn echo -n demo',
        'elastic-serving delete -f deploy/local/',
      ),
    )
    .action(async (kind: string | undefined, names: string[], opts: DeleteOptions, command: Command) => {
      const { namespace } = ctx.globals(command);
      const client = ctx.client(command);
      const targets: {
        gvs: { group: string; version: string }[];
        plural: string;
        kind: string;
        ns: string;
        name: string;
      }[] = [];
      if (opts.filename) {
        if (kind !== undefined) throw new UsageError('pass either -f or <kind> <name>, not both');
        for (const m of await loadManifests(opts.filename, namespace, ctx.io, 'deleted')) {
          const o = m.object;
          targets.push({
            gvs: [parseApiVersion(o.apiVersion)],
            plural: pluralForKind(o.kind),
            kind: o.kind,
            ns: o.metadata.namespace ?? namespace,
            name: o.metadata.name,
          });
        }
      } else {
        if (kind === undefined || names.length === 0) throw new UsageError('delete needs <kind> <name…> or -f <file>');
        const resolved = resolveKind(kind);
        for (const name of names) {
          targets.push({
            gvs: [...resolved.groups],
            plural: resolved.info.plural,
            kind: resolved.info.kind,
            ns: namespace,
            name,
          });
        }
      }
      const missing: string[] = [];
      for (const t of targets) {
        let deleted = false;
        // A kind may live under several groups (ours and Knative's); the name goes wherever it exists.
        for (const gv of t.gvs) {
          const apiVersion = await client.delete(gv, t.plural, t.ns, t.name);
          if (apiVersion !== undefined) {
            deleted = true;
            ctx.io.stdout(`${qualifiedKind(t.kind, apiVersion.split('/')[0]!)} "${t.name}" deleted\n`);
          }
        }
        if (!deleted && !opts.ignoreNotFound) missing.push(`${t.plural} "${t.name}" not found in namespace "${t.ns}"`);
      }
      if (missing.length === 1) throw new CliError(missing[0]!);
      if (missing.length > 1) throw new CliError(`${missing.length} objects not found`, { details: missing });
    });
}
