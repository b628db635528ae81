import type { Command } from 'commander';
import { ControlClient } from './client.ts';
import { UsageError } from './errors.ts';
import type { CliIo } from './io.ts';

export const DEFAULT_SERVER = 'http://127.0.0.1:8090';
export const DEFAULT_NAMESPACE = 'default';

/** Options every command shares; flags win over `ES_*` environment variables, which win over defaults. */
export interface GlobalOptions {
  /** Control API base URL (`--server`, `ES_SERVER`). @defaultValue 'http://127.0.0.1:8090' */
  server: string;
  /** Bearer token for the control API (`--token`, `ES_TOKEN`). @defaultValue undefined */
  token?: string;
  /** Namespace of the objects a command reads or writes (`-n`, `ES_NAMESPACE`). @defaultValue 'default' */
  namespace: string;
}

/** What a command's action gets besides its own arguments. */
export interface CommandContext {
  io: CliIo;
  /** Global options as seen by `command` (flags given before or after the subcommand). */
  globals(command: Command): GlobalOptions;
  /** A control API client for those options. */
  client(command: Command): ControlClient;
}

export function createContext(io: CliIo): CommandContext {
  const globals = (command: Command): GlobalOptions => {
    const opts = command.optsWithGlobals<{ server?: string; token?: string; namespace?: string }>();
    const server = opts.server ?? io.env.ES_SERVER ?? DEFAULT_SERVER;
    try {
      new URL(server);
    } catch {
      throw new UsageError(`--server ${JSON.stringify(server)} is not a URL (e.g. ${DEFAULT_SERVER})`);
    }
    const token = opts.token ?? io.env.ES_TOKEN;
    const namespace = opts.namespace ?? io.env.ES_NAMESPACE ?? DEFAULT_NAMESPACE;
    return { server, namespace, ...(token ? { token } : {}) };
  };
  return {
    io,
    globals,
    client: (command) => {
      const g = globals(command);
      return new ControlClient({ server: g.server, ...(g.token ? { token: g.token } : {}) });
    },
  };
}

/** Collects a repeatable option (`-f a -f b`). */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Help footer with examples, the same shape on every command. */
export function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`;
}
