import { type Command, Option } from 'commander';
import type { ResourceObject } from '../client.ts';
import { type CommandContext, examples } from '../context.ts';
import { UsageError } from '../errors.ts';
import { formatObjects, formatTable, type OutputFormat } from '../format.ts';
import { KINDS, type ResolvedKind, resolveKind } from '../kinds.ts';
import { findByName, listKind, notFound } from '../lookup.ts';

/** What `get all` lists: like kubectl, every kind but Secrets. */
const ALL_KINDS = KINDS.filter((k) => k.kind !== 'Secret');

interface GetOptions {
  output?: Exclude<OutputFormat, 'table'>;
  allNamespaces?: boolean;
}

function render(kind: string, objects: ResourceObject[], opts: GetOptions, asList: boolean): string {
  const format = opts.output;
  if (format === 'json' || format === 'yaml' || format === 'name') return formatObjects(objects, format, asList);
  return formatTable(kind, objects, { allNamespaces: opts.allNamespaces === true, wide: format === 'wide' });
}

async function getKind(
  ctx: CommandContext,
  command: Command,
  resolved: ResolvedKind,
  names: string[],
  opts: GetOptions,
): Promise<ResourceObject[]> {
  const { namespace } = ctx.globals(command);
  const client = ctx.client(command);
  if (names.length === 0) return listKind(client, resolved, opts.allNamespaces ? undefined : namespace);
  const out: ResourceObject[] = [];
  for (const name of names) {
    const found = await findByName(client, resolved, namespace, name);
    if (found.length === 0) throw notFound(resolved, namespace, name);
    out.push(...found);
  }
  return out;
}

export function registerGet(program: Command, ctx: CommandContext): void {
  program
    .command('get')
    .summary('list resources of a kind, or show named ones')
    .description(
      'list resources of a kind, or show named ones; a kind stored under several API groups (ours and ' +
        "Knative's/KServe's) is listed from all of them",
    )
    .argument(
      '<kind>',
      `${KINDS.map((k) => [k.singular, k.plural, ...k.shortNames].join('|')).join(', ')}, or all; ` +
        'qualify with a group to pick one, e.g. trigger.eventing.knative.dev',
    )
    .argument('[names...]', 'names of the objects (default: all of them)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['json', 'yaml', 'wide', 'name']))
    .option('-A, --all-namespaces', 'list across every namespace')
    .addHelpText(
      'after',
      examples(
        'elastic-serving get triggers',
        'elastic-serving get fn echo -o yaml',
        'elastic-serving get brokers -A -o wide',
        'elastic-serving get all',
      ),
    )
    .action(async (kind: string, names: string[], opts: GetOptions, command: Command) => {
      const { namespace } = ctx.globals(command);
      if (kind.toLowerCase() === 'all') {
        if (names.length > 0) throw new UsageError('get all takes no names');
        const sections: string[] = [];
        const objects: ResourceObject[] = [];
        const scope = opts.allNamespaces ? undefined : namespace;
        const client = ctx.client(command);
        const lists = await Promise.all(
          ALL_KINDS.map((info) => listKind(client, { info, groups: info.groups }, scope, { allowUnserved: true })),
        );
        lists.forEach((found, i) => {
          const info = ALL_KINDS[i]!;
          if (found.length === 0) return;
          objects.push(...found);
          sections.push(`${info.plural}\n${render(info.kind, found, opts, true)}`);
        });
        if (objects.length === 0)
          ctx.io.stderr(`No resources found${opts.allNamespaces ? '' : ` in ${namespace} namespace`}.\n`);
        else if (opts.output && opts.output !== 'wide') ctx.io.stdout(render('', objects, opts, true));
        else ctx.io.stdout(sections.join('\n'));
        return;
      }
      const resolved = resolveKind(kind);
      const objects = await getKind(ctx, command, resolved, names, opts);
      if (objects.length === 0 && (opts.output === undefined || opts.output === 'wide')) {
        ctx.io.stderr(`No resources found${opts.allNamespaces ? '' : ` in ${namespace} namespace`}.\n`);
        return;
      }
      ctx.io.stdout(render(resolved.info.kind, objects, opts, names.length !== 1 || objects.length !== 1));
    });
}
