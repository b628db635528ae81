import type { CliIo } from './io.ts';

/** A CliIo that records output, for in-process CLI tests. */
export interface CapturedIo extends CliIo {
  out: string[];
  err: string[];
  readonly stdoutText: string;
  readonly stderrText: string;
}

export function captureIo(
  options: { env?: Record<string, string>; cwd?: string; stdin?: string; shutdown?: Promise<string> } = {},
): CapturedIo {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    get stdoutText() {
      return out.join('');
    },
    get stderrText() {
      return err.join('');
    },
    stdout: (t) => void out.push(t),
    stderr: (t) => void err.push(t),
    env: options.env ?? {},
    cwd: options.cwd ?? process.cwd(),
    readStdin: async () => options.stdin ?? '',
    waitForShutdown: () => options.shutdown ?? new Promise<string>(() => {}),
  };
}
