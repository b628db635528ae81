import { setTimeout as sleep } from 'node:timers/promises';
import { startPlatformProcess } from '../../support/platform-process.ts';
import { ceHeaders, interleavedMedians, jsonBody, rateOnce } from '../load.ts';
import type { Suite } from '../main.ts';
import { childPids, rssMb, runScript, startScript, stop } from '../processes.ts';
import { type BenchResult, result } from '../report.ts';
import { drained, e2eRate, OPEN_LOOP_RATE, OPEN_LOOP_SECONDS, openLoopP99, waitForSink } from './sink.ts';

export const platformSuite: Suite = {
  name: 'platform',
  description: 'embedded platform, memory channel: ingress, end to end, open-loop p99, idle RSS (vs bare fastify)',
  async run(log) {
    const results: BenchResult[] = [];
    const body = jsonBody();
    const headers = ceHeaders();

    log('starting bare fastify (the baseline) and the platform; both idle while the other is measured');
    const bare = await startScript('test/bench/servers/bare-fastify.ts', [], /(http:\/\/\S+)/);
    const bareUrl = `${bare.match[1]}/bench/bare`;
    const bareRss = rssMb(bare.child.pid!);
    const platform = await startPlatformProcess(['--demo-dir', 'test/bench/fixtures', '--log-level', 'warn']);
    const { ingress, gateway } = platform.urls;
    try {
      await waitForSink(gateway);
      log('in turns, 3 times: bare fastify; ingress (memory, binary, no trigger); end to end counted at the replica');
      const [bareRate, ingressRate, e2eMemory] = await interleavedMedians([
        () => rateOnce(bareUrl, { headers, body }),
        () => rateOnce(`${ingress}/bench/ingress`, { headers, body }),
        () => e2eRate(platform, { headers, body }),
      ]);
      const baseline = { name: 'fastify_bare', value: bareRate! };
      results.push(result('fastify_bare', bareRate!, 'req/s', undefined, { note: 'bare fastify, same load' }));
      results.push(result('ingress_memory', ingressRate!, 'events/s', baseline, { target: '>= 0.6 x fastify_bare' }));
      results.push(result('e2e_memory', e2eMemory!, 'events/s', baseline, { target: '>= 0.25 x fastify_bare' }));

      await drained(gateway);
      log(`open loop on bare fastify: ${OPEN_LOOP_RATE} requests/s for ${OPEN_LOOP_SECONDS} s`);
      const bareOpen = JSON.parse(
        await runScript('test/bench/servers/open-loop-sender.ts', [
          bareUrl,
          String(OPEN_LOOP_RATE),
          String(OPEN_LOOP_SECONDS),
        ]),
      );
      log(
        `open loop: ${OPEN_LOOP_RATE} events/s for ${OPEN_LOOP_SECONDS} s, latency from scheduled send to the replica`,
      );
      const open = await openLoopP99(platform);
      const bareP99 = { name: 'fastify_bare_response_p99_at_1000_ms', value: bareOpen.responseP99 };
      results.push(
        result('e2e_memory_p99_at_1000_ms', open.p99, 'ms', bareP99, { target: '<= 5 ms', note: open.note }),
      );
    } finally {
      await platform.stop();
      await stop(bare.child);
    }

    log('idle RSS: npm start with the demo, measured 30 s after start');
    const idle = await startPlatformProcess(['--log-level', 'warn']);
    try {
      await sleep(30_000);
      const main = rssMb(idle.child.pid!);
      const replicas = childPids(idle.child.pid!).map(rssMb);
      results.push(
        result(
          'idle_rss_mb',
          main,
          'MB',
          { name: 'fastify_bare_rss_mb', value: bareRss },
          {
            target: '<= 150 MB',
            note: `main process only; ${replicas.length} function replicas beside it: ${replicas.map((r) => r.toFixed(1)).join(' + ')} MB`,
          },
        ),
      );
      results.push(
        result(
          'idle_replicas_rss_mb',
          replicas.reduce((a, b) => a + b, 0),
          'MB',
        ),
      );
    } finally {
      await idle.stop();
    }
    return results;
  },
};
