/**
 * Everything the CLI touches outside its arguments. `runCli` takes one so tests run commands in-process and
 * read what they printed; `processIo()` binds it to the real process.
 */
export interface CliIo {
  /** Writes to standard output (text is written as given; callers add newlines). */
  stdout(text: string): void;
  /** Writes to standard error. */
  stderr(text: string): void;
  /** Environment read for `ES_*` defaults. @defaultValue process.env */
  env: Readonly<Record<string, string | undefined>>;
  /** Directory relative paths are resolved against. @defaultValue process.cwd() */
  cwd: string;
  /** Reads all of standard input (for `-f -`). */
  readStdin(): Promise<string>;
  /**
   * Resolves with the signal name when the process is asked to stop (`up` waits on it). Listening starts at the
   * call, so call it before starting anything that must be stopped.
   */
  waitForShutdown(): Promise<string>;
  /** Ends the process now (only `up` uses it, after a clean stop). @defaultValue process.exit; absent in tests */
  exit?(code: number): void;
}

/** The real process: stdout/stderr, env, cwd, stdin and SIGINT/SIGTERM. */
/** A reader that went away (`elastic-serving get … | head`) is not an error: stop quietly. */
function exitQuietlyOnEpipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

export function processIo(): CliIo {
  exitQuietlyOnEpipe(process.stdout);
  exitQuietlyOnEpipe(process.stderr);
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
    cwd: process.cwd(),
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
    exit: (code) => process.exit(code),
    waitForShutdown: () =>
      new Promise((resolve) => {
        const onSignal = (signal: NodeJS.Signals): void => {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
          // A second signal while stopping means "now": don't make the user wait for the grace period.
          const force = (): void => process.exit(1);
          process.once('SIGINT', force);
          process.once('SIGTERM', force);
          resolve(signal);
        };
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
      }),
  };
}
