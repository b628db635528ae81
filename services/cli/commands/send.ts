import type { Command } from 'commander';
import { type CommandContext, collect, examples } from '../context.ts';
import { CliError } from '../errors.ts';
import { brokerUrl, buildSendEvent, postEvent, type SendEventOptions } from '../send-event.ts';

export const DEFAULT_INGRESS = 'http://127.0.0.1:8080';

interface SendFlags extends SendEventOptions {
  broker?: string;
  ingress?: string;
  ingressToken?: string;
  structured?: boolean;
}

export function registerSend(program: Command, ctx: CommandContext): void {
  program
    .command('send')
    .summary('publish one CloudEvent to a broker')
    .description('publish one CloudEvent to a broker through the ingress (binary mode unless --structured)')
    .requiredOption('--type <type>', 'event type (ce-type)')
    .requiredOption('--source <source>', 'event source URI-reference (ce-source)')
    .option('--id <id>', 'event id (default: a random UUID)')
    .option('--subject <subject>', 'event subject')
    .option('--time <rfc3339>', 'event time (default: now)')
    .option('--data <data>', 'event data, sent as given (JSON unless --content-type says otherwise)')
    .option('--data-file <file>', 'read the event data from a file')
    .option('--content-type <type>', 'datacontenttype of the data')
    .option('--ext <name=value>', 'extension attribute; repeatable', collect)
    .option('--broker <ns/name>', 'target broker, namespace/name or name in -n (default: <namespace>/default)')
    .option('--ingress <url>', `broker ingress base URL (env ES_INGRESS, default ${DEFAULT_INGRESS})`)
    .option('--ingress-token <token>', 'bearer token for a broker that requires one (env ES_INGRESS_TOKEN)')
    .option('--structured', 'send in structured mode (application/cloudevents+json)')
    .addHelpText(
      'after',
      examples(
        `elastic-serving send --type dev.elasticserving.inference.request --source /me --data '{"inputs":[[5.1,3.5,1.4,0.2]]}'`,
        'elastic-serving send --type demo.ping --source /cli --broker demo/default --ext partitionkey=user1 --structured',
        'elastic-serving send --type batch.rows --source /cli --data-file rows.jsonl --content-type application/x-ndjson',
      ),
    )
    .action(async (flags: SendFlags, command: Command) => {
      const { namespace } = ctx.globals(command);
      const event = await buildSendEvent(flags, ctx.io.cwd, (line) => ctx.io.stderr(`warning: ${line}\n`));
      const ingress = flags.ingress ?? ctx.io.env.ES_INGRESS ?? DEFAULT_INGRESS;
      const url = brokerUrl(ingress, flags.broker, namespace);
      const token = flags.ingressToken ?? ctx.io.env.ES_INGRESS_TOKEN;
      const result = await postEvent(url, event, {
        structured: flags.structured === true,
        ...(token ? { token } : {}),
      });
      const line = `${result.status} ${result.statusText}`;
      if (result.status >= 200 && result.status < 300) {
        ctx.io.stdout(`${line}: event ${event.attributes.id} sent to ${url}\n`);
        if (result.body.trim() !== '') ctx.io.stdout(`${result.body.trimEnd()}\n`);
        return;
      }
      throw new CliError(`${url} answered ${line}${result.body.trim() ? `: ${result.body.trim()}` : ''}`);
    });
}
