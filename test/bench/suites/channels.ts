import { type EngineName, engineReachable, engines } from '../../support/engines.ts';
import { runKillScenario } from '../../support/kill-scenario.ts';
import { type PlatformProcess, startPlatformProcess } from '../../support/platform-process.ts';
import { ceHeaders, interleavedMedians, jsonBody, LOAD, rateOnce } from '../load.ts';
import type { Suite } from '../main.ts';
import { runScript, startScript, stop } from '../processes.ts';
import { type BenchResult, result } from '../report.ts';
import { drained, e2eRate, openLoopP99, waitForSink } from './sink.ts';

const CHANNELS: readonly EngineName[] = ['nats', 'kafka', 'redis'];
const URL_FLAG: Record<EngineName, string> = { nats: '--nats', kafka: '--kafka', redis: '--redis' };
const RAW: Record<EngineName, { kind: string; metric: string }> = {
  nats: { kind: 'jetstream', metric: 'raw_jetstream_publish' },
  kafka: { kind: 'kafka', metric: 'raw_kafka_produce' },
  redis: { kind: 'redis', metric: 'raw_redis_xadd' },
};

function rawPublish(kind: string, url: string, warmup: number = LOAD.warmupSeconds): Promise<number> {
  return runScript('test/bench/servers/raw-publisher.ts', [
    kind,
    url,
    String(warmup),
    String(LOAD.measureSeconds),
  ]).then((out) => JSON.parse(out).rate as number);
}

function platformOn(channel: EngineName | 'memory'): Promise<PlatformProcess> {
  const args = ['--demo-dir', 'test/bench/fixtures', '--log-level', 'warn', '--channel', channel];
  if (channel !== 'memory') {
    args.push(URL_FLAG[channel], engines[channel].url);
    args.push('--channel-prefix', `bench-${Date.now().toString(36)}`);
  }
  return startPlatformProcess(args);
}

/** Deletes the bench brokers so their streams/topics do not stay on the shared engine. */
async function cleanup(platform: PlatformProcess): Promise<void> {
  await platform.cli(['delete', 'broker', 'ingress', 'e2e', '-n', 'bench']);
  await platform.stop();
}

export const channelsSuite: Suite = {
  name: 'channels',
  description:
    'nats, kafka, redis channels: ingress and end to end beside the raw client, open-loop p99, duplicates after kill -9',
  async unavailable() {
    const down = [];
    for (const engine of CHANNELS) if (!(await engineReachable(engine))) down.push(engine);
    return down.length ? `${down.join(', ')} not reachable: run deploy/local/services.sh up` : undefined;
  },
  async run(log) {
    const results: BenchResult[] = [];
    const body = jsonBody();
    const headers = ceHeaders();
    const bare = await startScript('test/bench/servers/bare-fastify.ts', [], /(http:\/\/\S+)/);
    const bareUrl = `${bare.match[1]}/bench/bare`;
    const memory = await platformOn('memory');
    const ingressOf = (p: PlatformProcess) => () => rateOnce(`${p.urls.ingress}/bench/ingress`, { headers, body });
    try {
      for (const engine of CHANNELS) {
        const raw = RAW[engine];
        log(
          `${engine}: platform up; in turns ×${LOAD.runs}: ${raw.metric}, ingress_${engine}, e2e_${engine}, plus baselines`,
        );
        const platform = await platformOn(engine);
        try {
          await waitForSink(platform.urls.gateway);
          const figures: (() => Promise<number>)[] = [
            () => rawPublish(raw.kind, engines[engine].url),
            ingressOf(platform),
            () => e2eRate(platform, { headers, body }),
          ];
          if (engine === 'nats') figures.push(() => rateOnce(bareUrl, { headers, body }));
          if (engine === 'redis') figures.push(ingressOf(memory));
          const [rawRate, ingressRate, e2e, extra] = await interleavedMedians(figures);
          const rawBaseline = { name: raw.metric, value: rawRate! };
          results.push(result(raw.metric, rawRate!, 'msgs/s', undefined, { note: '1 KiB, 256 in flight' }));
          if (engine === 'redis') {
            const pipelined = await rawPublish('redis-pipelined', engines.redis.url);
            results.push(
              result('raw_redis_xadd_pipelined', pipelined, 'msgs/s', undefined, {
                note: 'reference only: 4 pipelines of 256 XADD in flight',
              }),
            );
            results.push(result('ingress_memory', extra!, 'events/s', undefined, { note: 'the redis baseline' }));
          }
          const ingressBaseline = engine === 'redis' ? { name: 'ingress_memory', value: extra! } : rawBaseline;
          results.push(
            result(`ingress_${engine}`, ingressRate!, 'events/s', ingressBaseline, {
              target: engine === 'redis' ? '>= 0.8 x ingress_memory' : `>= 0.5 x ${raw.metric}`,
            }),
          );
          if (engine === 'nats') {
            results.push(result('fastify_bare', extra!, 'req/s', undefined, { note: 'the e2e_nats baseline' }));
          }
          results.push(
            result(
              `e2e_${engine}`,
              e2e!,
              'events/s',
              engine === 'nats' ? { name: 'fastify_bare', value: extra! } : rawBaseline,
              engine === 'nats' ? { target: '>= 0.15 x fastify_bare' } : { note: 'counted at the subscriber' },
            ),
          );
          await drained(platform.urls.gateway);
          log(`${engine}: open loop, 1,000 events/s`);
          const open = await openLoopP99(platform);
          results.push(
            result(`e2e_${engine}_p99_at_1000_ms`, open.p99, 'ms', undefined, { target: '<= 15 ms', note: open.note }),
          );
        } finally {
          await cleanup(platform);
        }
      }
    } finally {
      await memory.stop();
      await stop(bare.child);
    }
    const kills = [];
    for (const engine of CHANNELS) {
      log(`${engine}: 10,000 events, platform SIGKILLed after 4,000 accepted, up again on the same state`);
      const outcome = await runKillScenario(engine, engines[engine].url);
      kills.push(`${engine} ${outcome.duplicatePct.toFixed(3)} % (${outcome.duplicates} dup, ${outcome.lost} lost)`);
      results.push(
        result(`duplicates_after_kill_${engine}_pct`, outcome.duplicatePct, '%', undefined, {
          note: `accepted ${outcome.accepted}, lost ${outcome.lost}`,
        }),
      );
    }
    const worst = Math.max(...results.filter((r) => r.metric.startsWith('duplicates_after_kill_')).map((r) => r.value));
    results.push(
      result('duplicates_after_kill_pct', worst, '%', undefined, { target: '<= 1 %', note: kills.join('; ') }),
    );
    return results;
  },
};
