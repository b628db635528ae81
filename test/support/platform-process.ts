import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'elastic-serving.mjs');

export interface PlatformProcess {
  child: ChildProcess;
  urls: { ingress: string; gateway: string; control: string };
  stateDir: string;
  output(): string;
  /** Runs the CLI against this platform; resolves with its exit code and output. */
  cli(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `elastic-serving up` as a user would, in a child process, on free ports and a fresh state directory. */
export async function startPlatformProcess(
  extraArgs: string[] = [],
  opts: { stateDir?: string; keepStateDir?: boolean } = {},
): Promise<PlatformProcess> {
  const stateDir = opts.stateDir ?? mkdtempSync(join(tmpdir(), 'es-e2e-'));
  const args = [
    BIN,
    'up',
    '--state-dir',
    stateDir,
    '--ingress-port',
    '0',
    '--gateway-port',
    '0',
    '--control-port',
    '0',
    '--storage-webhook-port',
    '0',
    ...extraArgs,
  ];
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const urls = await new Promise<PlatformProcess['urls']>((resolve, reject) => {
    const timer = setTimeout(() => {
      // Never leave a half-started platform behind holding ports.
      child.kill('SIGKILL');
      reject(new Error(`platform did not start in 30 s:\n${out}`));
    }, 30_000);
    const check = () => {
      const ingress = /broker ingress\s+(http:\/\/\S+?)\/\{/.exec(out)?.[1];
      const gateway = /function gateway\s+(http:\/\/\S+?)\/\{/.exec(out)?.[1];
      const control = /control API\s+(http:\/\/\S+)/.exec(out)?.[1];
      if (ingress && gateway && control && /elastic-serving is up/.test(out)) {
        clearTimeout(timer);
        resolve({ ingress, gateway, control });
      }
    };
    child.stdout!.on('data', check);
    child.stderr!.on('data', check);
    child.on('exit', (code) => reject(new Error(`platform exited ${code} before it was ready:\n${out}`)));
  });
  const cli = (cliArgs: string[], input?: string) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const c = spawn(process.execPath, [BIN, ...cliArgs], {
        cwd: ROOT,
        env: { ...process.env, ES_SERVER: urls.control, ES_INGRESS: urls.ingress },
      });
      let stdout = '';
      let stderr = '';
      c.stdout.on('data', (d) => (stdout += d));
      c.stderr.on('data', (d) => (stderr += d));
      if (input !== undefined) c.stdin.end(input);
      else c.stdin.end();
      c.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    let code = child.exitCode;
    if (code === null) {
      const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
      child.kill(signal);
      code = await Promise.race([exited, new Promise<null>((r) => setTimeout(() => r(null), 20_000))]);
      if (code === null && child.exitCode === null) child.kill('SIGKILL');
    }
    if (!opts.stateDir && !opts.keepStateDir) rmSync(stateDir, { recursive: true, force: true });
    return code;
  };
  return { child, urls, stateDir, output: () => out, cli, stop };
}
