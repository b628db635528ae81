/**
 * Starts the KServe Python peer (kserve_onnx.py) for the bench and tests: builds its venv on first use, spawns
 * `kserve.ModelServer` on a free port, waits until the model answers ready.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../support/free-port.ts';
import { PYTHON_ENVS } from '../../support/python/envs.ts';
import { ensurePythonEnv } from '../../support/python/python-env.ts';

const SCRIPT = join(import.meta.dirname, 'kserve_onnx.py');

/** How to start the peer. */
export interface KservePeerOptions {
  /** Absolute path of the .onnx file to serve. */
  modelPath: string;
  /**
   * Model name in the v2 URLs.
   * @defaultValue 'iris'
   */
  modelName?: string;
  /**
   * HTTP port.
   * @defaultValue a free loopback port
   */
  httpPort?: number;
  /**
   * Where the server's stdout/stderr go (KServe logs every request by default; a file keeps that off our CPU).
   * @defaultValue `<tmpdir>/kserve-peer-<port>.log`
   */
  logFile?: string;
  /**
   * Longest wait for the model to be ready, venv creation excluded.
   * @defaultValue 60000
   */
  readyTimeoutMs?: number;
}

/** A running peer. */
export interface KservePeer {
  /** Server base URL, e.g. `http://127.0.0.1:8090`. */
  url: string;
  /** The v2 infer URL of the model. */
  inferUrl: string;
  /** The server process. */
  child: ChildProcess;
  /** The exact command line used, for reports. */
  command: string[];
  /** Where its output goes. */
  logFile: string;
  /** SIGTERM (KServe shuts down gracefully), SIGKILL after 10 s. */
  stop(): Promise<void>;
}

/** Starts the peer and resolves once `GET /v2/models/<name>/ready` answers 200. */
export async function startKservePeer(options: KservePeerOptions): Promise<KservePeer> {
  const { python } = await ensurePythonEnv('kserve', PYTHON_ENVS.kserve);
  const modelName = options.modelName ?? 'iris';
  const httpPort = options.httpPort ?? (await freePort());
  const logFile = options.logFile ?? join(tmpdir(), `kserve-peer-${httpPort}.log`);
  const command = [
    python,
    SCRIPT,
    '--model_path',
    options.modelPath,
    '--model_name',
    modelName,
    '--http_port',
    String(httpPort),
  ];
  const log = openSync(logFile, 'w');
  const child = spawn(command[0]!, command.slice(1), { stdio: ['ignore', log, log] });
  closeSync(log);
  const url = `http://127.0.0.1:${httpPort}`;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };

  const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`kserve peer exited with ${child.exitCode}:\n${readFileSync(logFile, 'utf8').slice(-2000)}`);
    }
    const ready = await fetch(`${url}/v2/models/${modelName}/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`kserve peer not ready in time:\n${readFileSync(logFile, 'utf8').slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { url, inferUrl: `${url}/v2/models/${modelName}/infer`, child, command, logFile, stop };
}
