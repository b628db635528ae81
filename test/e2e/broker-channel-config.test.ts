// Choosing a Broker's channel and what its deletion leaves behind, seen from the engine itself (issue 3):
// `spec.config: { kind: Channel, name: nats }` puts a Broker on JetStream whatever the platform default is;
// deleting it removes its stream, unless the Broker carries `eventing.elastic-serving.dev/broker.keep-topic`.
import { connect, type JetStreamManager, type NatsConnection } from 'nats';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { topicNames } from '../../brokers/nats/names.ts';
import { describeWithEngine, engines } from '../support/engines.ts';
import { type PlatformProcess, startPlatformProcess } from '../support/platform-process.ts';
import { apply, sleep, uniqueNames, waitCondition } from './e2e-helpers.ts';

const unique = uniqueNames('chancfg');
const prefix = unique('p');

async function streamExists(jsm: JetStreamManager, broker: string): Promise<boolean> {
  try {
    await jsm.streams.info(topicNames(prefix, `default.${broker}`).stream);
    return true;
  } catch {
    return false;
  }
}

function brokerYaml(name: string, annotations = ''): string {
  return `apiVersion: eventing.elastic-serving.dev/v1
kind: Broker
metadata:
  name: ${name}
  namespace: default
${annotations ? `  annotations:\n${annotations}\n` : ''}spec:
  config: { kind: Channel, name: nats }
`;
}

await describeWithEngine('nats', 'a Broker choosing its channel with spec.config', () => {
  let platform: PlatformProcess;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  beforeAll(async () => {
    // The platform default stays memory: only spec.config can put these brokers on NATS.
    platform = await startPlatformProcess(['--no-demo', '--nats', engines.nats.url, '--channel-prefix', prefix]);
    nc = await connect({ servers: engines.nats.url });
    jsm = await nc.jetstreamManager();
  }, 60_000);
  afterAll(async () => {
    await platform?.stop();
    for await (const name of jsm.streams.names()) if (name.startsWith(`${prefix}_`)) await jsm.streams.delete(name);
    await nc?.close();
  });

  it('runs on nats, and deleting the Broker deletes its stream unless it asks to keep it', async () => {
    const gone = unique('gone');
    const kept = unique('kept');
    await apply(
      platform,
      `${brokerYaml(gone)}---\n${brokerYaml(kept, '    eventing.elastic-serving.dev/broker.keep-topic: "true"')}`,
    );
    const ready = await waitCondition(platform, 'broker', gone);
    expect(JSON.stringify(ready)).toContain('channel nats');
    await waitCondition(platform, 'broker', kept);
    expect(await streamExists(jsm, gone)).toBe(true);
    expect(await streamExists(jsm, kept)).toBe(true);

    for (const b of [gone, kept]) expect((await platform.cli(['delete', 'broker', b])).code).toBe(0);
    const deadline = Date.now() + 10_000;
    while ((await streamExists(jsm, gone)) && Date.now() < deadline) await sleep(100);
    expect(await streamExists(jsm, gone)).toBe(false);
    expect(await streamExists(jsm, kept)).toBe(true);
  });
});
