import { describe, expect, it } from 'vitest';
import { DEFAULT_PLATFORM_OPTIONS } from '../platform/options.ts';
import { UsageError } from './errors.ts';
import { buildPlatformOptions, isLoopback } from './up-options.ts';

describe('buildPlatformOptions', () => {
  it('uses the defaults, with absolute state dir and the package demo dir', () => {
    const o = buildPlatformOptions({}, {}, '/home/u/proj', '/opt/es/');
    expect(o).toEqual({
      ...DEFAULT_PLATFORM_OPTIONS,
      stateDir: '/home/u/proj/.elastic-serving',
      demoDir: '/opt/es/deploy/local',
    });
  });

  it('takes env over defaults and flags over env', () => {
    const env = {
      ES_INGRESS_PORT: '9000',
      ES_GATEWAY_PORT: '9001',
      ES_CHANNEL: 'nats',
      ES_LOG_LEVEL: 'debug',
      ES_STATE_DIR: '/var/es',
    };
    const o = buildPlatformOptions({ ingressPort: '7000', logLevel: 'warn' }, env, '/w', '/p');
    expect(o).toMatchObject({
      ingressPort: 7000,
      gatewayPort: 9001,
      channel: 'nats',
      logLevel: 'warn',
      stateDir: '/var/es',
    });
  });

  it('turns the demo off with --no-demo, ES_NO_DEMO or a demo dir of none, and resolves a given one against cwd', () => {
    expect(buildPlatformOptions({ demo: false }, {}, '/w', '/p').demoDir).toBe(false);
    expect(buildPlatformOptions({ demo: true }, { ES_NO_DEMO: '1' }, '/w', '/p').demoDir).toBe(false);
    expect(buildPlatformOptions({ demoDir: 'none' }, {}, '/w', '/p').demoDir).toBe(false);
    expect(buildPlatformOptions({ demoDir: 'my/demo' }, {}, '/w', '/p').demoDir).toBe('/w/my/demo');
  });

  it('names the flag or variable with a bad value', () => {
    expect(() => buildPlatformOptions({ controlPort: '99999' }, {}, '/w', '/p')).toThrow(
      /--control-port "99999": expected an integer from 0 to 65535/,
    );
    expect(() => buildPlatformOptions({}, { ES_INGRESS_PORT: 'eighty' }, '/w', '/p')).toThrow(
      /ES_INGRESS_PORT "eighty"/,
    );
    expect(() => buildPlatformOptions({}, { ES_CHANNEL: 'rabbit' }, '/w', '/p')).toThrow(/ES_CHANNEL "rabbit"/);
    expect(() => buildPlatformOptions({ maxBodyBytes: '0' }, {}, '/w', '/p')).toThrow(UsageError);
  });

  it('refuses to bind beyond loopback without a token', () => {
    expect(() => buildPlatformOptions({ host: '0.0.0.0' }, {}, '/w', '/p')).toThrow(/pass --token or set ES_TOKEN/);
    expect(buildPlatformOptions({ host: '0.0.0.0' }, { ES_TOKEN: 's3cret' }, '/w', '/p')).toMatchObject({
      host: '0.0.0.0',
      token: 's3cret',
    });
    expect(isLoopback('127.0.0.2')).toBe(true);
    expect(isLoopback('::1')).toBe(true);
    expect(isLoopback('192.168.1.2')).toBe(false);
  });
});
