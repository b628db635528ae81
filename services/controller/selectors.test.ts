import { describe, expect, it } from 'vitest';
import { parseFieldSelector, parseLabelSelector } from './selectors.ts';
import { trigger } from './test-fixtures.ts';

const obj = trigger('t', { metadata: { name: 't', namespace: 'ns', labels: { app: 'iris', tier: 'web' } } });

describe('selectors', () => {
  it('matches label selectors', () => {
    expect(parseLabelSelector('app=iris,tier')(obj)).toBe(true);
    expect(parseLabelSelector('app==iris')(obj)).toBe(true);
    expect(parseLabelSelector('app!=iris')(obj)).toBe(false);
    expect(parseLabelSelector('!missing')(obj)).toBe(true);
    expect(parseLabelSelector('tier in (web, db),app notin (x)')(obj)).toBe(true);
    expect(parseLabelSelector('tier in (db)')(obj)).toBe(false);
    expect(() => parseLabelSelector('a b c')).toThrow(/unable to parse/);
  });

  it('matches field selectors on name and namespace', () => {
    expect(parseFieldSelector('metadata.name=t,metadata.namespace=ns')(obj)).toBe(true);
    expect(parseFieldSelector('metadata.name!=t')(obj)).toBe(false);
    expect(() => parseFieldSelector('spec.broker=x')).toThrow(/unable to parse/);
  });
});
