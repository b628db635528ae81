// Docker is not run here, so this keeps Dockerfile and docker-compose.yml honest another way: every command they
// run is a real CLI command, every variable they set is one the CLI reads, and the compose environment turns into
// working service configs.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runCli } from './main.ts';
import { PACKAGE_ROOT } from './package-info.ts';
import {
  controllerConfig,
  functionsConfig,
  ingressConfig,
  routerConfig,
  SERVICE_ENV,
  type ServiceInput,
  sourcesConfig,
} from './service-options.ts';
import { captureIo } from './test-io.ts';
import { UP_ENV } from './up-options.ts';

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string | number>;
  ports?: string[];
  healthcheck?: unknown;
}

const compose = parse(readFileSync(join(PACKAGE_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>;
};
const dockerfile = readFileSync(join(PACKAGE_ROOT, 'Dockerfile'), 'utf8');
const ours = Object.entries(compose.services).filter(([, s]) => s.build !== undefined);
const KNOWN_ENV = new Set([
  ...Object.values(UP_ENV),
  ...Object.values(SERVICE_ENV),
  'ES_SERVER',
  'ES_TOKEN',
  'ES_INGRESS_TOKENS',
  'ES_HEALTH_URL',
]);

describe('docker-compose.yml', () => {
  it('runs every platform service from the one image with a real CLI command', async () => {
    expect(ours.map(([name]) => name).sort()).toEqual(['controller', 'functions', 'ingress', 'router', 'sources']);
    for (const [name, service] of ours) {
      expect(service.command, name).toEqual([name]);
      const io = captureIo();
      expect(await runCli([...service.command!, '--help'], io), io.stderrText).toBe(0);
    }
    expect(new Set(ours.map(([, s]) => s.image)).size).toBe(1);
    for (const engine of ['nats', 'redis', 'kafka']) expect(compose.services[engine]?.healthcheck).toBeDefined();
    expect(compose.services.nats?.command).toContain('-js');
    expect(compose.services.redis?.command).toEqual(expect.arrayContaining(['--appendonly', 'yes']));
    expect(compose.services.kafka?.image).toMatch(/^apache\/kafka:/);
  });

  it('publishes ports on 127.0.0.1 only and requires ES_TOKEN', () => {
    for (const service of Object.values(compose.services)) {
      for (const port of service.ports ?? []) expect(port).toMatch(/^127\.0\.0\.1:/);
    }
    const text = readFileSync(join(PACKAGE_ROOT, 'docker-compose.yml'), 'utf8');
    expect(text).toMatch(/ES_TOKEN: \$\{ES_TOKEN:\?/);
  });

  it('sets only variables the CLI reads, and they make valid configs pointing the services at each other', () => {
    for (const [name, service] of ours) {
      for (const key of Object.keys(service.environment ?? {})) expect(KNOWN_ENV, `${name}: ${key}`).toContain(key);
    }
    const env = (name: string) => {
      const raw = compose.services[name]!.environment ?? {};
      // What the image adds (Dockerfile ENV) and what `docker compose` substitutes.
      const vars: Record<string, string> = { ES_HOST: '0.0.0.0', ES_STATE_DIR: '/data' };
      for (const [k, v] of Object.entries(raw)) vars[k] = String(v).startsWith('${ES_TOKEN') ? 'secret' : String(v);
      return vars;
    };
    const input = (name: string): ServiceInput => ({
      flags: {},
      env: env(name),
      cwd: '/app',
      packageRoot: '/app',
      server: env(name).ES_SERVER!,
      token: 'secret',
    });
    expect(controllerConfig(input('controller'))).toMatchObject({ host: '0.0.0.0', port: 8090, stateDir: '/data' });
    expect(ingressConfig(input('ingress'))).toMatchObject({
      port: 8080,
      publicUrl: 'http://ingress:8080',
      control: { server: 'http://controller:8090', token: 'secret' },
      channels: { channel: 'nats', natsUrl: 'nats://nats:4222', kafkaBrokers: 'kafka:9092' },
    });
    expect(routerConfig(input('router'))).toMatchObject({
      host: '0.0.0.0',
      healthPort: 8082,
      ingressUrl: 'http://ingress:8080',
      gatewayUrl: 'http://functions:8081',
    });
    expect(sourcesConfig(input('sources'))).toMatchObject({ healthPort: 8083, ingressUrl: 'http://ingress:8080' });
    expect(functionsConfig(input('functions'))).toMatchObject({ port: 8081, healthPort: 8084, stateDir: '/data' });
    // Each health check asks the port its service actually serves /healthz on.
    expect(env('router').ES_HEALTH_URL).toBe('http://127.0.0.1:8082/healthz');
    expect(env('sources').ES_HEALTH_URL).toBe('http://127.0.0.1:8083/healthz');
    expect(env('functions').ES_HEALTH_URL).toBe('http://127.0.0.1:8084/healthz');
    expect(env('ingress').ES_HEALTH_URL).toBe('http://127.0.0.1:8080/healthz');
  });
});

describe('Dockerfile', () => {
  it('builds one non-root image whose entrypoint is the CLI, `up` by default, with a health check', () => {
    expect(dockerfile).toMatch(/^ENTRYPOINT \["node", "bin\/elastic-serving\.mjs"\]$/m);
    expect(dockerfile).toMatch(/^CMD \["up"\]$/m);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/ONNXRUNTIME_NODE_INSTALL=skip/);
    expect(dockerfile).toMatch(/^HEALTHCHECK /m);
    expect(dockerfile).toMatch(/npm ci/);
  });
});
