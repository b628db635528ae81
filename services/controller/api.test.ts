import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildControlApi } from './api.ts';
import { MemoryResourceStore } from './memory-store.ts';
import { trigger } from './test-fixtures.ts';

const KN = '/apis/eventing.knative.dev/v1';
const OURS = '/apis/eventing.elastic-serving.dev/v1';
let app: FastifyInstance;

function setup(token?: string) {
  const store = new MemoryResourceStore();
  app = buildControlApi({ store, ...(token === undefined ? {} : { token }) });
  return store;
}

afterEach(async () => {
  await app.close();
});

describe('control API: CRUD in the Kubernetes REST shape', () => {
  it('creates, reads, lists, replaces, patches and deletes', async () => {
    setup();
    const created = await app.inject({
      method: 'POST',
      url: `${KN}/namespaces/default/triggers`,
      payload: trigger('t1'),
    });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({
      apiVersion: 'eventing.knative.dev/v1',
      metadata: { name: 't1', namespace: 'default', resourceVersion: '1', generation: 1 },
    });

    const got = await app.inject(`${KN}/namespaces/default/triggers/t1`);
    expect(got.statusCode).toBe(200);
    expect(got.json().spec.broker).toBe('default');

    // Our group lists the Knative-written trigger too.
    await app.inject({
      method: 'POST',
      url: `${OURS}/namespaces/team/triggers`,
      payload: { metadata: { name: 't2' }, spec: trigger('x').spec },
    });
    const all = await app.inject(`${OURS}/triggers`);
    expect(all.json()).toMatchObject({
      kind: 'TriggerList',
      apiVersion: 'eventing.elastic-serving.dev/v1',
      metadata: { resourceVersion: '2' },
    });
    expect(all.json().items.map((t: { metadata: { name: string } }) => t.metadata.name)).toEqual(['t1', 't2']);
    expect((await app.inject(`${KN}/namespaces/team/triggers`)).json().items).toHaveLength(1);

    const current = got.json();
    current.spec.broker = 'other';
    const put = await app.inject({ method: 'PUT', url: `${KN}/namespaces/default/triggers/t1`, payload: current });
    expect(put.statusCode).toBe(200);
    expect(put.json().metadata).toMatchObject({ resourceVersion: '3', generation: 2 });

    const patch = await app.inject({
      method: 'PATCH',
      url: `${KN}/namespaces/default/triggers/t1`,
      headers: { 'content-type': 'application/merge-patch+json' },
      payload: JSON.stringify({
        metadata: { labels: { app: 'demo' } },
        spec: { filter: { attributes: { type: 'x' } } },
      }),
    });
    expect(patch.statusCode).toBe(200);
    expect(patch.json()).toMatchObject({
      metadata: { labels: { app: 'demo' }, generation: 3 },
      spec: { broker: 'other', filter: { attributes: { type: 'x' } } },
    });
    expect((await app.inject(`${KN}/triggers?labelSelector=app%3Ddemo`)).json().items).toHaveLength(1);

    const jsonPatch = await app.inject({
      method: 'PATCH',
      url: `${KN}/namespaces/default/triggers/t1`,
      headers: { 'content-type': 'application/json-patch+json' },
      payload: JSON.stringify([{ op: 'replace', path: '/spec/broker', value: 'third' }]),
    });
    expect(jsonPatch.json().spec.broker).toBe('third');

    const del = await app.inject({ method: 'DELETE', url: `${KN}/namespaces/default/triggers/t1` });
    expect(del.statusCode).toBe(200);
    expect(del.json().metadata.name).toBe('t1');
    expect((await app.inject(`${KN}/namespaces/default/triggers/t1`)).statusCode).toBe(404);
  });

  it('accepts YAML bodies and server-side-apply PATCH that creates or replaces', async () => {
    setup();
    const yaml = 'apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata: { name: b }\n';
    const first = await app.inject({
      method: 'PATCH',
      url: `${KN}/namespaces/default/brokers/b?fieldManager=cli`,
      headers: { 'content-type': 'application/apply-patch+yaml' },
      payload: yaml,
    });
    expect(first.statusCode).toBe(200);
    expect(first.json().metadata.resourceVersion).toBe('1');
    const post = await app.inject({
      method: 'POST',
      url: `${KN}/namespaces/default/brokers`,
      headers: { 'content-type': 'application/yaml' },
      payload: yaml.replace('name: b', 'name: c'),
    });
    expect(post.statusCode).toBe(201);
  });

  it('writes status through the status subresource only', async () => {
    setup();
    await app.inject({ method: 'POST', url: `${KN}/namespaces/default/triggers`, payload: trigger('t1') });
    const status = { observedGeneration: 1, conditions: [{ type: 'Ready', status: 'True' }] };
    const put = await app.inject({
      method: 'PUT',
      url: `${KN}/namespaces/default/triggers/t1/status`,
      payload: { ...trigger('t1'), status },
    });
    expect(put.statusCode).toBe(200);
    expect(put.json()).toMatchObject({ status, metadata: { resourceVersion: '2', generation: 1 } });
    const patch = await app.inject({
      method: 'PATCH',
      url: `${KN}/namespaces/default/triggers/t1/status`,
      headers: { 'content-type': 'application/merge-patch+json' },
      payload: JSON.stringify({ status: { address: { url: 'http://x/' } } }),
    });
    expect(patch.json().status).toEqual({ ...status, address: { url: 'http://x/' } });
    // A write to the main resource cannot change status.
    const main = await app.inject({
      method: 'PUT',
      url: `${KN}/namespaces/default/triggers/t1`,
      payload: { ...trigger('t1'), status: {} },
    });
    expect(main.json().status).toEqual(patch.json().status);
    expect((await app.inject(`${KN}/namespaces/default/triggers/t1/status`)).json().status.address.url).toBe(
      'http://x/',
    );
  });

  it('supports dryRun without storing anything', async () => {
    const store = setup();
    const res = await app.inject({
      method: 'POST',
      url: `${KN}/namespaces/default/triggers?dryRun=All`,
      payload: trigger('t1'),
    });
    expect(res.statusCode).toBe(201);
    expect((await store.list('Trigger')).items).toEqual([]);
  });
});

describe('control API: errors are Status objects', () => {
  it('404 NotFound for a missing object and an unknown resource', async () => {
    setup();
    const res = await app.inject(`${KN}/namespaces/default/triggers/nope`);
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({
      kind: 'Status',
      apiVersion: 'v1',
      status: 'Failure',
      reason: 'NotFound',
      code: 404,
      details: { name: 'nope', group: 'eventing.knative.dev', kind: 'triggers' },
    });
    expect((await app.inject(`${KN}/namespaces/default/functions`)).json()).toMatchObject({
      reason: 'NotFound',
      code: 404,
    });
    expect((await app.inject('/nowhere')).json()).toMatchObject({ kind: 'Status', code: 404 });
  });

  it('409 AlreadyExists and 409 Conflict on a stale resourceVersion', async () => {
    setup();
    await app.inject({ method: 'POST', url: `${KN}/namespaces/default/triggers`, payload: trigger('t1') });
    const again = await app.inject({
      method: 'POST',
      url: `${KN}/namespaces/default/triggers`,
      payload: trigger('t1'),
    });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ reason: 'AlreadyExists', code: 409 });
    const stale = trigger('t1');
    stale.metadata.resourceVersion = '77';
    const put = await app.inject({ method: 'PUT', url: `${KN}/namespaces/default/triggers/t1`, payload: stale });
    expect(put.statusCode).toBe(409);
    expect(put.json()).toMatchObject({ reason: 'Conflict', code: 409 });
    const pinned = await app.inject({
      method: 'PATCH',
      url: `${KN}/namespaces/default/triggers/t1`,
      headers: { 'content-type': 'application/merge-patch+json' },
      payload: JSON.stringify({ metadata: { resourceVersion: '77' }, spec: { broker: 'x' } }),
    });
    expect(pinned.json()).toMatchObject({ reason: 'Conflict', code: 409 });
  });

  it('422 Invalid with the field path in message and causes', async () => {
    setup();
    const bad = { ...trigger('t1'), spec: { broker: 'default', subscriber: {} } };
    const res = await app.inject({ method: 'POST', url: `${KN}/namespaces/default/triggers`, payload: bad });
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({
      kind: 'Status',
      reason: 'Invalid',
      code: 422,
      message: 'Trigger default/t1: spec.subscriber: ref or uri is required',
      details: {
        causes: [{ field: 'spec.subscriber', message: 'ref or uri is required', reason: 'FieldValueInvalid' }],
      },
    });
  });

  it('400 BadRequest for a body contradicting the URL or unparsable', async () => {
    setup();
    const wrongNs = await app.inject({
      method: 'POST',
      url: `${KN}/namespaces/other/triggers`,
      payload: trigger('t1', { namespace: 'default' }),
    });
    expect(wrongNs.json()).toMatchObject({ reason: 'BadRequest', code: 400 });
    const wrongGroup = await app.inject({
      method: 'POST',
      url: `${OURS}/namespaces/default/triggers`,
      payload: trigger('t1'),
    });
    expect(wrongGroup.json().message).toMatch(/API version in the data/);
    const junk = await app.inject({
      method: 'POST',
      url: `${KN}/namespaces/default/triggers`,
      headers: { 'content-type': 'application/json' },
      payload: '{oops',
    });
    expect(junk.json()).toMatchObject({ kind: 'Status', code: 400 });
    const badSelector = await app.inject(`${KN}/triggers?labelSelector=${encodeURIComponent('a b c')}`);
    expect(badSelector.json()).toMatchObject({ reason: 'BadRequest', code: 400 });
  });
});

describe('control API: discovery, health and auth', () => {
  it('serves discovery documents that map kinds to plurals', async () => {
    setup();
    const groups = (await app.inject('/apis')).json();
    expect(groups.kind).toBe('APIGroupList');
    expect(groups.groups.map((g: { name: string }) => g.name)).toEqual(
      expect.arrayContaining([
        'eventing.knative.dev',
        'eventing.elastic-serving.dev',
        'sources.knative.dev',
        'serving.kserve.io',
      ]),
    );
    const resources = (await app.inject('/apis/sources.knative.dev/v1beta2')).json();
    expect(resources).toMatchObject({ kind: 'APIResourceList', groupVersion: 'sources.knative.dev/v1beta2' });
    expect(resources.resources[0]).toMatchObject({ name: 'pingsources', kind: 'PingSource', namespaced: true });
    expect((await app.inject('/apis/serving.elastic-serving.dev')).json().preferredVersion.version).toBe('v1');
    expect((await app.inject('/apis/nope.dev/v1')).statusCode).toBe(404);
  });

  it('needs the bearer token on every request but /healthz when one is set', async () => {
    setup('s3cret');
    expect((await app.inject('/healthz')).statusCode).toBe(200);
    const none = await app.inject(`${KN}/triggers`);
    expect(none.statusCode).toBe(401);
    expect(none.json()).toMatchObject({ kind: 'Status', reason: 'Unauthorized', code: 401 });
    expect((await app.inject({ url: `${KN}/triggers`, headers: { authorization: 'Bearer wrong' } })).statusCode).toBe(
      401,
    );
    expect((await app.inject({ url: '/apis', headers: { authorization: 'Basic s3cret' } })).statusCode).toBe(401);
    expect((await app.inject({ url: `${KN}/triggers`, headers: { authorization: 'Bearer s3cret' } })).statusCode).toBe(
      200,
    );
  });
});
