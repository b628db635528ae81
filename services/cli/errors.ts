/**
 * CLI failures. Anything thrown from a command becomes one `error: …` line on stderr and an exit code:
 * 2 for a usage mistake (bad flag value, unknown kind), 1 for everything else (server refused, unreachable).
 */
export class CliError extends Error {
  readonly exitCode: number;
  /** Extra lines printed under the message (e.g. one per invalid field). */
  readonly details: readonly string[];

  constructor(message: string, options: { exitCode?: number; details?: readonly string[]; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.exitCode = options.exitCode ?? 1;
    this.details = options.details ?? [];
  }
}

/** The command line itself is wrong; exit code 2 like commander's own usage errors. */
export class UsageError extends CliError {
  constructor(message: string, details: readonly string[] = []) {
    super(message, { exitCode: 2, details });
  }
}
