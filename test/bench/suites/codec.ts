import { HTTP } from 'cloudevents';
import { parseHttpEvents } from '../../../services/core/http/codec.ts';
import { jsonBody, median } from '../load.ts';
import type { Suite } from '../main.ts';
import { result } from '../report.ts';

/**
 * Our CloudEvents HTTP parser against the `cloudevents` SDK's `HTTP.toEvent` + `validate()` on the same 1 KiB
 * binary- and structured-mode messages. A CPU micro-benchmark, so it runs in-process (no HTTP load involved).
 */
function opsPerSecond(fn: () => void, ms = 1500): number {
  for (let i = 0; i < 2000; i++) fn();
  const runs: number[] = [];
  for (let r = 0; r < 3; r++) {
    let n = 0;
    const start = performance.now();
    while (performance.now() - start < ms) {
      for (let i = 0; i < 200; i++) fn();
      n += 200;
    }
    runs.push(n / ((performance.now() - start) / 1000));
  }
  return median(runs);
}

export const codecSuite: Suite = {
  name: 'codec',
  description: 'CloudEvents HTTP parsing: ours vs cloudevents HTTP.toEvent + validate',
  async run(log) {
    const body = jsonBody();
    const binaryHeaders = {
      'content-type': 'application/json',
      'ce-specversion': '1.0',
      'ce-id': 'abc-123',
      'ce-source': '/bench/source',
      'ce-type': 'dev.elasticserving.bench',
      'ce-time': '2026-11-27T07:00:00Z',
      'ce-partitionkey': 'k1',
    };
    const structuredBody = JSON.stringify({
      specversion: '1.0',
      id: 'abc-123',
      source: '/bench/source',
      type: 'dev.elasticserving.bench',
      time: '2026-11-27T07:00:00Z',
      datacontenttype: 'application/json',
      data: JSON.parse(body),
    });
    const structuredHeaders = { 'content-type': 'application/cloudevents+json' };
    const bodyBuf = Buffer.from(body);
    const structuredBuf = Buffer.from(structuredBody);

    log('binary mode');
    const oursBinary = opsPerSecond(() => parseHttpEvents(binaryHeaders, bodyBuf));
    const sdkBinary = opsPerSecond(
      () => HTTP.toEvent({ headers: binaryHeaders, body }) as unknown as { validate(): boolean },
    );
    const sdkBinaryValidated = opsPerSecond(() => {
      const e = HTTP.toEvent({ headers: binaryHeaders, body }) as unknown as { validate(): boolean };
      e.validate();
    });
    log('structured mode');
    const oursStructured = opsPerSecond(() => parseHttpEvents(structuredHeaders, structuredBuf));
    const sdkStructured = opsPerSecond(() => {
      const e = HTTP.toEvent({ headers: structuredHeaders, body: structuredBody }) as unknown as {
        validate(): boolean;
      };
      e.validate();
    });
    return [
      result('codec_parse_binary', oursBinary, 'ops/s', {
        name: 'sdk_toevent_validate_binary',
        value: sdkBinaryValidated,
      }),
      result('sdk_toevent_binary_unvalidated', sdkBinary, 'ops/s'),
      result('codec_parse_structured', oursStructured, 'ops/s', {
        name: 'sdk_toevent_validate_structured',
        value: sdkStructured,
      }),
    ];
  },
};
