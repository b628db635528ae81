// The gateway handing client connections to replicas when the activator is out of a function's path
// (first-bytes.ts, Activator.handoff, functions/sdk/handoff.ts), with real replica processes.
import { connect } from 'node:net';
import { Client } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Activator, type ScaleSignals } from '../activator/activator.ts';
import { createGateway, type Gateway } from './gateway.ts';
import { LocalRuntime } from './supervisor.ts';
import { ceHeaders, writeFixtureHandler } from './test-fixtures.ts';
import { transpileHandler } from './transpile.ts';

const MAX_AGE_MS = 1500;
let rt: LocalRuntime;
let activator: Activator;
let gw: Gateway;
const records: { fn: string; concurrency: number; requests: number }[] = [];
const clients: Client[] = [];

beforeAll(async () => {
  const { dir } = writeFixtureHandler();
  const entry = (await transpileHandler({ handler: 'handler.ts', baseDir: dir, namespace: 'default', name: 'fx' }))
    .file;
  rt = new LocalRuntime({ baseDir: dir });
  for (const fn of ['default/direct', 'default/other', 'default/limited', 'default/buffered']) {
    await rt.deploy(fn, { entry });
  }
  await Promise.all([
    rt.scale('default/direct', 2),
    rt.scale('default/other', 1),
    rt.scale('default/limited', 1),
    rt.scale('default/buffered', 1),
  ]);
  const autoscaler: ScaleSignals = { poke() {}, record: (fn, load) => records.push({ fn, ...load }) };
  activator = new Activator({ runtime: rt, autoscaler, reportIntervalMs: 500 });
  activator.upsert('default', 'direct', { containerConcurrency: 0, timeoutSeconds: 30, targetBurstCapacity: 0 });
  activator.upsert('default', 'other', { containerConcurrency: 0, timeoutSeconds: 30, targetBurstCapacity: 0 });
  // A limit to enforce, and Knative's default burst capacity: both keep the activator in the path.
  activator.upsert('default', 'limited', { containerConcurrency: 1, timeoutSeconds: 30, targetBurstCapacity: 0 });
  activator.upsert('default', 'buffered', { containerConcurrency: 0, timeoutSeconds: 30 });
  activator.start();
  gw = await createGateway({ activator, port: 0, handoffMaxAgeMs: MAX_AGE_MS });
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await gw?.close();
  await activator?.close();
  await rt?.stopAll(2000);
});

/** One keep-alive connection to the gateway: every request on it goes over the same socket. */
function connection(): Client {
  const client = new Client(gw.url, { pipelining: 1 });
  clients.push(client);
  return client;
}

async function post(client: Client, path: string, data: unknown) {
  const res = await client.request({
    method: 'POST',
    path,
    headers: ceHeaders(`e${Math.random()}`),
    body: JSON.stringify(data),
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, json: JSON.parse(text || 'null') as Record<string, unknown> };
}

/** Requests at the activator for `name` while a slow request on `client` is at its replica. */
async function activatorInFlightDuring(client: Client, name: string): Promise<number> {
  const slow = post(client, `/default/${name}/slow`, { ms: 400 });
  await new Promise((r) => setTimeout(r, 150));
  const inFlight = activator.load('default', name)!.inFlight;
  expect((await slow).status).toBe(200);
  return inFlight;
}

describe('connection handoff', () => {
  it('serves a connection straight from a replica when the activator is out of the path', async () => {
    const client = connection();
    const first = await post(client, '/default/direct/some/path?q=1', { x: 1 });
    expect(first.status).toBe(200);
    expect(first.headers['ce-type']).toBe('dev.test.fixture.reply');
    expect(first.json.path).toBe('/some/path?q=1');
    expect((await post(client, '/default/direct', {})).json.path).toBe('/');
    expect((await post(client, '/default/direct?only=query', {})).json.path).toBe('/?only=query');
    // the activator never sees the requests of that connection, which stays with one replica
    expect(await activatorInFlightDuring(client, 'direct')).toBe(0);
    const pids = new Set<unknown>();
    for (let i = 0; i < 5; i++) pids.add((await post(client, '/default/direct', {})).json.pid);
    expect([...pids]).toEqual([first.json.pid]);
  });

  it('spreads new connections over the ready replicas', async () => {
    const pids = new Set<unknown>();
    for (let i = 0; i < 4; i++) pids.add((await post(connection(), '/default/direct', {})).json.pid);
    expect(pids).toEqual(new Set(rt.replicas('default/direct').map((r) => r.pid)));
  });

  it('keeps connections at the gateway while a limit is enforced or the burst rule puts the activator in the path', async () => {
    expect(activator.load('default', 'limited')!.inPath).toBe(false);
    expect(await activatorInFlightDuring(connection(), 'limited')).toBe(1);
    expect(activator.load('default', 'buffered')!.inPath).toBe(true);
    expect(await activatorInFlightDuring(connection(), 'buffered')).toBe(1);
  });

  it("sends a request for another function's path on a handed connection back through the gateway", async () => {
    const client = connection();
    const direct = await post(client, '/default/direct/a', {});
    const other = await post(client, '/default/other/b?c=d', {});
    expect(other.status).toBe(200);
    expect(other.json.path).toBe('/b?c=d');
    expect(other.json.pid).toBe(rt.replicas('default/other')[0]!.pid);
    const missing = await post(client, '/default/nope', {});
    expect(missing.status).toBe(404);
    expect(missing.json).toMatchObject({ code: 'ES_ERR_NOT_FOUND', error: 'no function default/nope' });
    // the connection still belongs to the first replica
    expect((await post(client, '/default/direct/a', {})).json.pid).toBe(direct.json.pid);
  });

  it('closes a handed connection with the first answer after its maximum age, so the client reconnects', async () => {
    const client = connection();
    expect((await post(client, '/default/direct', {})).headers.connection).not.toBe('close');
    await new Promise((r) => setTimeout(r, MAX_AGE_MS + 100));
    expect((await post(client, '/default/direct', {})).headers.connection).toBe('close');
    expect((await post(client, '/default/direct', {})).status).toBe(200);
  });

  it('passes on every byte the client sent after the first read, whoever serves the connection', async () => {
    // well beyond one read: a body that arrived cut would fail to parse, and one left behind would hang
    const pad = 'x'.repeat(600_000);
    for (const name of ['direct', 'buffered']) {
      const client = connection();
      for (let i = 0; i < 2; i++) expect((await post(client, `/default/${name}`, { pad })).status).toBe(200);
    }
  });

  it('keeps a connection whose first read does not hold the whole header block, and serves it', async () => {
    const socket = connect(gw.port, '127.0.0.1');
    const answer = new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (d) => {
        text += d;
        if (text.includes('"hello"')) resolve(text);
      });
    });
    const body = '{"x":1}';
    socket.write('POST /default/direct/slowly HTTP/1.1\r\nHost: x\r\n');
    await new Promise((r) => setTimeout(r, 100));
    const headers = Object.entries(ceHeaders('slow-1')).map(([k, v]) => `${k}: ${v}\r\n`);
    socket.write(`${headers.join('')}content-length: ${body.length}\r\n\r\n${body}`);
    const text = await answer;
    socket.destroy();
    expect(text).toMatch(/^HTTP\/1\.1 200/);
    expect(text).toContain('"path":"/slowly"');
  });

  it('lets a replica being stopped finish the request on a handed connection, then close it', async () => {
    const client = connection();
    const first = await post(client, '/default/other', {});
    const slow = post(client, '/default/other', { ms: 500 });
    await new Promise((r) => setTimeout(r, 100));
    const stopped = rt.scale('default/other', 0);
    const answer = await slow;
    expect(answer.status).toBe(200);
    expect(answer.json.pid).toBe(first.json.pid);
    expect(answer.headers.connection).toBe('close');
    await stopped;
    await rt.scale('default/other', 1);
  });

  it('reports the load of handed connections to the autoscaler, through the activator', async () => {
    const client = connection();
    await post(client, '/default/direct', {});
    // what earlier tests sent has been reported after one report interval of the replica (1 s) and the activator
    await new Promise((r) => setTimeout(r, 1600));
    records.length = 0;
    const until = Date.now() + 2500;
    let sent = 0;
    while (Date.now() < until) {
      await post(client, '/default/direct', { ms: 20 });
      sent++;
    }
    // one more report interval of the replica (1 s) and of the activator
    await new Promise((r) => setTimeout(r, 1600));
    const direct = records.filter((r) => r.fn === 'default/direct');
    const requests = direct.reduce((n, r) => n + r.requests, 0);
    expect(requests).toBeGreaterThanOrEqual(sent - 5);
    expect(requests).toBeLessThanOrEqual(sent);
    // one request at a time, each ~20 ms: a concurrency near 1 while it ran
    expect(Math.max(...direct.map((r) => r.concurrency))).toBeGreaterThan(0.5);
  });

  it('answers 502 with the reason when the gateway a request for another path goes back to is gone', async () => {
    const gw2 = await createGateway({ activator, port: 0 });
    const client = new Client(gw2.url);
    const send = async (path: string) => {
      const res = await client.request({ method: 'POST', path, headers: ceHeaders('g1'), body: '{}' });
      return { status: res.statusCode, json: (await res.body.json()) as Record<string, unknown> };
    };
    expect((await send('/default/direct')).status).toBe(200);
    await gw2.close();
    // the connection is the replica's and outlives the gateway; only a request for another path needs it
    expect((await send('/default/direct')).status).toBe(200);
    const other = await send('/default/other');
    expect(other.status).toBe(502);
    expect(other.json).toMatchObject({ code: 'ES_ERR_BACKEND_UNAVAILABLE' });
    expect(other.json.error).toMatch(/^gateway unreachable: .*ECONNREFUSED/);
    await client.close();
  });

  it('closes the gateway within its grace after a replica that held a handed connection has exited', async () => {
    const gw2 = await createGateway({ activator, port: 0 });
    const client = new Client(gw2.url);
    const res = await client.request({ method: 'POST', path: '/default/other', headers: ceHeaders('c1'), body: '{}' });
    await res.body.text();
    expect(res.statusCode).toBe(200);
    await rt.scale('default/other', 0);
    const started = Date.now();
    await gw2.close();
    expect(Date.now() - started).toBeLessThan(2000);
    await client.close();
    await rt.scale('default/other', 1);
  });
});
