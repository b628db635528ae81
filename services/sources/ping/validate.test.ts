import { describe, expect, it } from 'vitest';
import { validatePingSourceSpec } from './validate.ts';

const sink = { ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'default' } };
const paths = (spec: unknown) => validatePingSourceSpec(spec).map((i) => i.path);

describe('validatePingSourceSpec', () => {
  it('accepts Knative-shaped specs', () => {
    expect(
      validatePingSourceSpec({
        schedule: '*/1 * * * *',
        data: '{"message":"hi"}',
        contentType: 'application/json',
        sink,
      }),
    ).toEqual([]);
    expect(
      validatePingSourceSpec({
        schedule: 'CRON_TZ=Europe/Paris 0 9 * * 1-5',
        dataBase64: 'AAEC/w==',
        sink: { uri: 'http://127.0.0.1:9/x' },
      }),
    ).toEqual([]);
    expect(
      validatePingSourceSpec({ sink, timezone: 'Asia/Tokyo', ceOverrides: { extensions: { team: 'ml' } } }),
    ).toEqual([]);
  });

  it('refuses data together with dataBase64', () => {
    expect(validatePingSourceSpec({ data: 'x', dataBase64: 'eA==', sink })).toEqual([
      { path: 'spec.dataBase64', message: 'data and dataBase64 are mutually exclusive (set one)' },
    ]);
  });

  it('checks base64 and, for application/json, that the data is JSON', () => {
    expect(paths({ dataBase64: 'not base64!', sink })).toEqual(['spec.dataBase64']);
    expect(
      paths({ dataBase64: Buffer.from('{oops').toString('base64'), contentType: 'application/json', sink }),
    ).toEqual(['spec.dataBase64']);
    expect(paths({ data: '{oops', contentType: 'application/json', sink })).toEqual(['spec.data']);
    expect(paths({ data: '{oops', contentType: 'text/plain', sink })).toEqual([]);
  });

  it('reports schedule, timezone, sink, overrides and unknown fields with their paths', () => {
    expect(paths({ schedule: '99 * * * *', sink })).toEqual(['spec.schedule']);
    expect(paths({ timezone: 'Nowhere/Land', sink })).toEqual(['spec.timezone']);
    expect(paths({ schedule: '* * * * *' })).toEqual(['spec.sink']);
    expect(paths({ sink: { uri: 'not a url' } })).toEqual(['spec.sink.uri']);
    expect(paths({ sink: { ref: { kind: 'Broker' } } })).toEqual(['spec.sink.ref.name']);
    expect(paths({ sink, ceOverrides: { extensions: { Bad_Name: 'x', type: 'y' } } })).toEqual([
      'spec.ceOverrides.extensions.Bad_Name',
      'spec.ceOverrides.extensions.type',
    ]);
    expect(paths({ sink, jsonData: '{}' })).toEqual(['spec.jsonData']);
    expect(validatePingSourceSpec('x', 'spec')).toEqual([{ path: 'spec', message: 'expected an object' }]);
  });
});
