import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from './errors.ts';
import { runCli } from './main.ts';
import {
  controllerConfig,
  functionsConfig,
  ingressConfig,
  routerConfig,
  type ServiceInput,
  sourcesConfig,
} from './service-options.ts';
import { captureIo } from './test-io.ts';

const input = (flags: ServiceInput['flags'] = {}, env: ServiceInput['env'] = {}, token?: string): ServiceInput => ({
  flags,
  env,
  cwd: '/w',
  packageRoot: '/p',
  server: 'http://controller:8090',
  ...(token ? { token } : {}),
});

describe('service options', () => {
  it('defaults: nats channel, local addresses, per-service health ports, the control API given', () => {
    const router = routerConfig(input());
    expect(router).toMatchObject({
      host: '127.0.0.1',
      healthPort: 8082,
      ingressUrl: 'http://127.0.0.1:8080',
      gatewayUrl: 'http://127.0.0.1:8081',
      control: { server: 'http://controller:8090' },
      channels: { channel: 'nats', natsUrl: 'nats://127.0.0.1:4222', channelPrefix: 'es' },
      shutdownGraceMs: 10_000,
    });
    expect(router.control.token).toBeUndefined();
    expect(sourcesConfig(input()).healthPort).toBe(8083);
    expect(functionsConfig(input())).toMatchObject({ port: 8081, healthPort: 8084, stateDir: '/w/.elastic-serving' });
    expect(ingressConfig(input())).toMatchObject({ port: 8080, maxBodyBytes: 1048576 });
    expect(ingressConfig(input()).publicUrl).toBeUndefined();
    expect(controllerConfig(input())).toEqual({
      host: '127.0.0.1',
      port: 8090,
      stateDir: '/w/.elastic-serving',
      logLevel: 'info',
    });
  });

  it('reads the same ES_* variables as up, flags winning, and the token for the control API', () => {
    const env = {
      ES_CHANNEL: 'kafka',
      ES_KAFKA_BROKERS: 'kafka:9092',
      ES_CHANNEL_PREFIX: 'prod',
      ES_HEALTH_PORT: '9100',
      ES_INGRESS_URL: 'http://ingress:8080/',
      ES_GATEWAY_URL: 'http://functions:8081',
      ES_HOST: '0.0.0.0',
      ES_LOG_LEVEL: 'debug',
    };
    const router = routerConfig(input({ logLevel: 'warn', channelPrefix: 'flag' }, env, 's3cret'));
    expect(router).toMatchObject({
      host: '0.0.0.0',
      healthPort: 9100,
      ingressUrl: 'http://ingress:8080',
      gatewayUrl: 'http://functions:8081',
      control: { server: 'http://controller:8090', token: 's3cret' },
      channels: { channel: 'kafka', kafkaBrokers: 'kafka:9092', channelPrefix: 'flag' },
      logLevel: 'warn',
    });
    expect(functionsConfig(input({ warmPool: '0', stableWindowMs: '6000' }, env))).toMatchObject({
      publicUrl: 'http://functions:8081',
      scaling: { warmPool: 0, stableWindowMs: 6000, autoscalerTickMs: 2000 },
    });
    const ingress = ingressConfig(input({}, { ...env, ES_INGRESS_TOKENS: 'pub=default/*' }));
    expect(ingress).toMatchObject({ publicUrl: 'http://ingress:8080', auth: { tokens: { pub: ['default/*'] } } });
  });

  it('refuses the memory channel for services that share it, naming where it came from', () => {
    expect(() => routerConfig(input({ channel: 'memory' }))).toThrow(/--channel memory: the router shares/);
    expect(() => ingressConfig(input({}, { ES_CHANNEL: 'memory' }))).toThrow(UsageError);
    expect(() => functionsConfig(input({}, { ES_CHANNEL: 'memory' }))).toThrow(/ES_CHANNEL memory/);
    // Sources post over HTTP and never open a channel.
    expect(() => sourcesConfig(input({}, { ES_CHANNEL: 'memory' }))).not.toThrow();
  });

  it('asks for a token only where the control API is exposed', () => {
    expect(() => controllerConfig(input({ host: '0.0.0.0' }))).toThrow(/--token/);
    expect(controllerConfig(input({ host: '0.0.0.0' }, {}, 't'))).toMatchObject({ host: '0.0.0.0', token: 't' });
    expect(ingressConfig(input({}, { ES_HOST: '0.0.0.0' })).host).toBe('0.0.0.0');
  });

  it('names the flag or variable of a bad value', () => {
    expect(() => routerConfig(input({ ingressUrl: 'ingress:8080' }))).toThrow(/--ingress-url "ingress:8080"/);
    expect(() => sourcesConfig(input({}, { ES_GATEWAY_URL: 'ftp://x' }))).toThrow(/ES_GATEWAY_URL/);
    expect(() => routerConfig(input({ healthPort: '70000' }))).toThrow(/--health-port "70000"/);
    expect(() => ingressConfig(input({ ingressPort: 'x' }))).toThrow(/--ingress-port/);
    expect(() => routerConfig(input({ channelPrefix: 'Bad_Prefix' }))).toThrow(/--channel-prefix/);
  });
});

describe('service commands', () => {
  it('print help with their flags, environment variables and examples', async () => {
    for (const name of ['controller', 'ingress', 'router', 'sources', 'functions']) {
      const io = captureIo();
      expect(await runCli([name, '--help'], io)).toBe(0);
      expect(io.stdoutText).toContain(`Usage: elastic-serving ${name}`);
      expect(io.stdoutText).toContain('Examples:');
      expect(io.stdoutText).toMatch(/env ES_LOG_LEVEL/);
    }
    const io = captureIo();
    await runCli(['router', '--help'], io);
    expect(io.stdoutText).toMatch(/--gateway-url <url>[\s\S]*ES_GATEWAY_URL/);
    expect(io.stdoutText).not.toContain('"memory"');
  });

  it('runs the controller until asked to stop: banner with its address, a working API, a clean stop', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'es-svc-'));
    let stop: (signal: string) => void = () => {};
    const io = captureIo({ shutdown: new Promise<string>((r) => (stop = r)) });
    let exitCode: number | undefined;
    io.exit = (code) => {
      exitCode = code;
    };
    try {
      const done = runCli(['controller', '--control-port', '0', '--state-dir', dir, '--log-level', 'silent'], io);
      const deadline = Date.now() + 10_000;
      while (!io.stdoutText.includes('is up') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const url = /control +(http\S+)/.exec(io.stdoutText)?.[1];
      expect(url, io.stderrText).toBeDefined();
      const res = await fetch(`${url}/apis/eventing.elastic-serving.dev/v1/namespaces/default/brokers`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ metadata: { name: 'b' } }),
      });
      expect(res.status).toBe(201);
      expect(await readdir(join(dir, 'resources', 'brokers', 'default'))).toEqual(['b.json']);
      stop('SIGTERM');
      expect(await done).toBe(0);
      expect(exitCode).toBe(0);
      expect(io.stderrText).toContain('SIGTERM: stopping controller');
      await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
