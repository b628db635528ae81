import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { CloudEvent } from '../../core/cloudevent.ts';
import { ElasticServingError } from '../../core/errors.ts';
import { type PingEmit, type PingSink, PingSourceRunner, type PingSourceRunnerOptions } from './ping-source.ts';

interface Sent {
  event: CloudEvent;
  sink: PingSink;
}

/** A real pino logger whose JSON lines are kept for assertions. */
function captureLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

async function waitFor(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sink: PingSink = { ref: { kind: 'Broker', name: 'default' } };
const runners: PingSourceRunner[] = [];

function runner(emit: PingEmit, extra: Partial<PingSourceRunnerOptions> = {}) {
  const log = captureLogger();
  const r = new PingSourceRunner({ emit, logger: log.logger, backoffDelayMs: 5, ...extra });
  runners.push(r);
  return { runner: r, lines: log.lines };
}

afterEach(async () => {
  await Promise.all(runners.splice(0).map((r) => r.stopAll()));
});

describe('PingSourceRunner', () => {
  it('emits Knative ping events every second, with text data and with decoded dataBase64', async () => {
    const sent: Sent[] = [];
    const { runner: r } = runner(async (event, to) => {
      sent.push({ event, sink: to });
    });
    const bytes = Buffer.from([0x00, 0x01, 0xfe, 0xff]);
    expect(
      r.upsert({
        metadata: { name: 'text', namespace: 'team-a' },
        spec: { schedule: '* * * * * *', data: '{"msg":"hi"}', contentType: 'application/json', sink },
      }),
    ).toBe('created');
    r.upsert({
      metadata: { name: 'bin', namespace: 'team-a' },
      spec: {
        schedule: '* * * * * *',
        dataBase64: bytes.toString('base64'),
        contentType: 'application/octet-stream',
        sink: { uri: 'http://127.0.0.1:1/x' },
      },
    });
    r.upsert({
      metadata: { name: 'empty' },
      spec: { schedule: '* * * * * *', sink, ceOverrides: { extensions: { team: 'ml' } } },
    });
    expect(r.keys().sort()).toEqual(['default/empty', 'team-a/bin', 'team-a/text']);

    const of = (src: string) => sent.filter((s) => s.event.attributes.source === src);
    await waitFor(
      () => ['text', 'bin'].every((n) => of(`/apis/v1/namespaces/team-a/pingsources/${n}`).length >= 2),
      4000,
    );

    const text = of('/apis/v1/namespaces/team-a/pingsources/text');
    for (const { event, sink: to } of text) {
      expect(event.attributes).toMatchObject({
        specversion: '1.0',
        type: 'dev.knative.sources.ping',
        datacontenttype: 'application/json',
      });
      expect(event.attributes.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      expect(event.data?.toString('utf8')).toBe('{"msg":"hi"}');
      expect(to).toEqual(sink);
    }
    const [first, second] = text;
    expect(first!.event.attributes.id).not.toBe(second!.event.attributes.id);
    expect(Date.parse(second!.event.attributes.time!) - Date.parse(first!.event.attributes.time!)).toBe(1000);

    const bin = of('/apis/v1/namespaces/team-a/pingsources/bin');
    expect(bin[0]!.event.data).toEqual(bytes);
    expect(bin[0]!.event.attributes.datacontenttype).toBe('application/octet-stream');
    expect(bin[0]!.sink).toEqual({ uri: 'http://127.0.0.1:1/x' });

    const empty = of('/apis/v1/namespaces/default/pingsources/empty')[0]!.event;
    expect(empty.data).toBeUndefined();
    expect(empty.attributes.datacontenttype).toBeUndefined();
    expect(empty.attributes.team).toBe('ml');
    const ids = sent.map((s) => s.event.attributes.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('replaces the job on update, keeps it on an identical upsert, and stops it on remove', async () => {
    const sent: CloudEvent[] = [];
    let ticks = 0; // newId runs once per tick, so it also counts ticks of jobs that should be gone
    const { runner: r } = runner(
      async (event) => {
        sent.push(event);
      },
      { newId: () => `tick-${++ticks}` },
    );
    const meta = { name: 'p', namespace: 'ns' };
    r.upsert({ metadata: meta, spec: { schedule: '* * * * * *', data: 'v1', sink } });
    expect(r.upsert({ metadata: meta, spec: { sink, data: 'v1', schedule: '* * * * * *' } })).toBe('unchanged');
    await waitFor(() => sent.length >= 1);

    expect(r.upsert({ metadata: meta, spec: { schedule: '* * * * * *', data: 'v2', sink } })).toBe('updated');
    const cut = sent.length;
    const ticksAtCut = ticks;
    await waitFor(() => sent.length >= cut + 2);
    expect(ticks - ticksAtCut).toBe(sent.length - cut);
    // After the update only the new job ticks: one event per second, all with the new data.
    const after = sent.slice(cut);
    expect(after.map((e) => e.data?.toString())).toEqual(after.map(() => 'v2'));
    expect(new Set(after.map((e) => e.attributes.time)).size).toBe(after.length);

    expect(r.remove('ns/p')).toBe(true);
    expect(r.remove('ns/p')).toBe(false);
    expect(r.keys()).toEqual([]);
    const frozen = sent.length;
    const frozenTicks = ticks;
    await sleep(1600);
    expect(sent.length).toBe(frozen);
    expect(ticks).toBe(frozenTicks);
  });

  it('refuses an invalid spec with ES_ERR_INVALID_RESOURCE and keeps the running job', async () => {
    const sent: CloudEvent[] = [];
    const { runner: r } = runner(async (event) => {
      sent.push(event);
    });
    r.upsert({ metadata: { name: 'p' }, spec: { schedule: '* * * * * *', sink } });
    let thrown: unknown;
    try {
      r.upsert({ metadata: { name: 'p' }, spec: { schedule: '* * * * * *', data: 'a', dataBase64: 'YQ==', sink } });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ElasticServingError);
    expect((thrown as ElasticServingError).code).toBe('ES_ERR_INVALID_RESOURCE');
    expect((thrown as Error).message).toContain('spec.dataBase64: data and dataBase64 are mutually exclusive');
    expect(r.keys()).toEqual(['default/p']);
    await waitFor(() => sent.length >= 1);
  });

  it('retries a failed send with the same event, then logs and drops a tick that keeps failing', async () => {
    const attempts: CloudEvent[] = [];
    let failuresLeft = 2;
    const { runner: r, lines } = runner(
      async (event) => {
        attempts.push(event);
        if (event.attributes.source.endsWith('/flaky') && failuresLeft-- > 0) throw new Error('sink said 503');
        if (event.attributes.source.endsWith('/broken')) throw new Error('sink unreachable');
      },
      { retry: 3 },
    );
    r.upsert({ metadata: { name: 'flaky' }, spec: { schedule: '* * * * * *', sink } });
    r.upsert({ metadata: { name: 'broken' }, spec: { schedule: '* * * * * *', sink } });
    await waitFor(() => lines.some((l) => l.msg === 'pingsource event lost: send failed'));

    const flaky = attempts.filter((e) => e.attributes.source.endsWith('/flaky'));
    expect(flaky.length).toBeGreaterThanOrEqual(3);
    expect(flaky.slice(0, 3).map((e) => e.attributes.id)).toEqual([
      flaky[0]!.attributes.id,
      flaky[0]!.attributes.id,
      flaky[0]!.attributes.id,
    ]);

    const lost = lines.find((l) => l.msg === 'pingsource event lost: send failed')!;
    expect(lost).toMatchObject({ pingsource: 'default/broken', attempts: 4, level: 50 });
    expect((lost.err as { message: string }).message).toBe('sink unreachable');
    expect(
      lines.filter((l) => l.msg === 'pingsource send failed, retrying' && l.pingsource === 'default/broken').length,
    ).toBeGreaterThanOrEqual(3);
  });

  it('stops retrying once the source is removed', async () => {
    let calls = 0;
    const { runner: r } = runner(
      async () => {
        calls++;
        throw new Error('down');
      },
      { retry: 100, backoffDelayMs: 100 },
    );
    r.upsert({ metadata: { name: 'p' }, spec: { schedule: '* * * * * *', sink } });
    await waitFor(() => calls >= 1);
    r.remove('default/p');
    const frozen = calls;
    await sleep(1300);
    expect(calls).toBe(frozen);
  });

  it('reads the schedule in the runner default zone unless the source names one', () => {
    const { runner: r } = runner(async () => {}, { defaultTimezone: 'Asia/Tokyo' });
    r.upsert({ metadata: { name: 'tokyo' }, spec: { schedule: '0 9 * * *', sink } });
    r.upsert({ metadata: { name: 'utc' }, spec: { schedule: '0 9 * * *', timezone: 'UTC', sink } });
    r.upsert({ metadata: { name: 'paris' }, spec: { schedule: 'CRON_TZ=Europe/Paris 0 9 * * *', sink } });
    expect(r.nextRun('default/tokyo')!.getUTCHours()).toBe(0);
    expect(r.nextRun('default/utc')!.getUTCHours()).toBe(9);
    expect([7, 8]).toContain(r.nextRun('default/paris')!.getUTCHours());
    expect(r.nextRun('default/none')).toBeNull();
  });
});
