import type { Command } from 'commander';
import { Agent, request } from 'undici';
import { ApiError, ControlClient, type K8sStatus, statusDetails } from '../client.ts';
import { type CommandContext, examples } from '../context.ts';
import { CliError, UsageError } from '../errors.ts';
import { resolveKind } from '../kinds.ts';

interface LogsFlags {
  follow?: boolean;
  replica?: string;
  tail: string;
  since?: string;
  prefix?: boolean;
}

const FUNCTIONS = resolveKind('functions');
/** How long the control API may take to start answering (the body of a follow has no deadline). */
const HEADERS_TIMEOUT_MS = 30_000;
const UNITS: Readonly<Record<string, number>> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, µs: 0.001 };

/** A Go/kubectl duration (`10m`, `1h30m`, `45s`) in whole seconds, rounded up. */
export function parseSince(text: string): number {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s|us|µs)/g)];
  const total = parts.reduce((sum, [, value, unit]) => sum + Number(value) * UNITS[unit!]!, 0);
  if (parts.map((p) => p[0]).join('') !== text || total <= 0) {
    throw new UsageError(`--since ${JSON.stringify(text)} is not a positive duration like 30s, 10m or 1h30m`);
  }
  return Math.ceil(total / 1000);
}

/** `function/echo`, `fn/echo`, `echo`, or the kind and name as two words. */
function functionName(target: string, name: string | undefined): string {
  let kind: string | undefined;
  let rest = target;
  if (name !== undefined) [kind, rest] = [target, name];
  else if (target.includes('/'))
    [kind, rest] = [target.slice(0, target.indexOf('/')), target.slice(target.indexOf('/') + 1)];
  if (kind !== undefined && resolveKind(kind).info.kind !== 'Function') {
    throw new UsageError(`logs are kept for functions only, not ${resolveKind(kind).info.plural}`);
  }
  if (rest === '' || rest.includes('/')) throw new UsageError(`"${target}" does not name a function (function/<name>)`);
  return rest;
}

function failure(status: number, text: string, server: string): ApiError {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const st = (body as K8sStatus | undefined)?.kind === 'Status' ? (body as K8sStatus) : undefined;
  if (status === 401) {
    return new ApiError(
      status,
      `unauthorized (401): the control API at ${server} needs a bearer token — pass --token or set ES_TOKEN`,
      st,
      [],
    );
  }
  const plain = text.trim();
  const message = st?.message ?? (plain === '' ? 'reading the logs failed' : plain.slice(0, 300));
  return new ApiError(status, `${message} (${st?.reason ? `${st.reason}, ` : ''}${status})`, st, statusDetails(st));
}

function unreachable(server: string, err: unknown): CliError {
  const code = (err as { code?: unknown }).code;
  return new CliError(
    `cannot reach the control API at ${server}${typeof code === 'string' ? ` (${code})` : ''} — is \`elastic-serving up\` running?`,
    { cause: err },
  );
}

export function registerLogs(program: Command, ctx: CommandContext): void {
  program
    .command('logs')
    .summary("print the logs of a function's replicas")
    .description(
      "print what a function's replicas wrote to stdout and stderr: every replica, those of earlier runs too, " +
        'least recently written first; each line starts with [replica] when more than one replica is shown. ' +
        'With -f, keep printing new lines and replicas that start later, until Ctrl+C or the platform stops',
    )
    .argument('<function>', 'function/<name> (or fn/<name>, or just <name>)')
    .argument('[name]', 'the name, when the kind is given as its own word (logs function echo)')
    .option('-f, --follow', 'keep streaming new lines as they are written')
    .option('--replica <id>', 'only this replica (the id in the [replica] prefix, e.g. echo-2)')
    .option('--tail <lines>', "lines of each replica's log to show before following; -1 shows all", '-1')
    .option('--since <duration>', 'only lines written in the last duration, like 30s, 10m or 1h')
    .option('--prefix', 'start every line with [replica], even for a single replica')
    .option('--no-prefix', 'never start lines with [replica]')
    .addHelpText(
      'after',
      examples(
        'elastic-serving logs function/echo',
        'elastic-serving logs fn/iris -f --tail 20',
        'elastic-serving logs function/echo --replica echo-2 --since 10m',
        'elastic-serving logs function/scorer -n batch -f',
      ),
    )
    .action(async (target: string, nameArg: string | undefined, flags: LogsFlags, command: Command) => {
      const name = functionName(target, nameArg);
      const tail = /^-?\d+$/.test(flags.tail) ? Number(flags.tail) : Number.NaN;
      if (!Number.isSafeInteger(tail) || tail < -1) {
        throw new UsageError(`--tail ${JSON.stringify(flags.tail)} must be a number of lines (-1 for all)`);
      }
      const { server, token, namespace } = ctx.globals(command);
      const query = new URLSearchParams();
      if (flags.follow) query.set('follow', 'true');
      if (tail >= 0) query.set('tailLines', String(tail));
      if (flags.since !== undefined) query.set('sinceSeconds', String(parseSince(flags.since)));
      if (flags.replica !== undefined) query.set('replica', flags.replica);
      if (flags.prefix !== undefined) query.set('prefix', String(flags.prefix));
      const path = `${ControlClient.path(FUNCTIONS.groups[0]!, 'functions', namespace, name)}/log?${query}`;

      const stop = new AbortController();
      // Ctrl+C ends a follow cleanly (exit 0); without -f the default signal handling stays.
      if (flags.follow) void ctx.io.waitForShutdown().then(() => stop.abort());
      const agent = new Agent({
        headersTimeout: HEADERS_TIMEOUT_MS,
        bodyTimeout: flags.follow ? 0 : HEADERS_TIMEOUT_MS,
      });
      try {
        await printLog(ctx, server.replace(/\/+$/, ''), path, token, agent, stop.signal);
      } finally {
        await agent.destroy();
      }
    });
}

async function printLog(
  ctx: CommandContext,
  server: string,
  path: string,
  token: string | undefined,
  agent: Agent,
  signal: AbortSignal,
): Promise<void> {
  let res: Awaited<ReturnType<typeof request>>;
  try {
    res = await request(server + path, {
      dispatcher: agent,
      signal,
      headers: { accept: 'text/plain', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    });
  } catch (err) {
    if (signal.aborted) return;
    throw unreachable(server, err);
  }
  if (res.statusCode >= 300) throw failure(res.statusCode, await res.body.text(), server);
  const decoder = new TextDecoder();
  try {
    for await (const chunk of res.body) ctx.io.stdout(decoder.decode(chunk as Buffer, { stream: true }));
  } catch (err) {
    if (signal.aborted) return;
    throw new CliError(`the log stream from ${server} broke off: ${(err as Error).message}`, { cause: err });
  }
  const rest = decoder.decode();
  if (rest !== '') ctx.io.stdout(rest);
}
