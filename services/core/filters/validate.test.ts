import { describe, expect, it } from 'vitest';
import { validateTriggerFilter } from './validate.ts';

describe('validateTriggerFilter', () => {
  it('accepts valid specs, absent parts and empty dialects', () => {
    expect(validateTriggerFilter(undefined)).toEqual([]);
    expect(validateTriggerFilter({})).toEqual([]);
    expect(
      validateTriggerFilter({
        filter: { attributes: { type: 'a', myext1: '' } },
        filters: [
          {},
          { exact: { type: 'a' } },
          { prefix: { source: '/x' } },
          { suffix: { subject: '.png' } },
          { all: [] },
          { any: [{ exact: { type: 'b' } }, { not: { cesql: "type LIKE 'x%'" } }] },
          { cesql: '' },
          { exact: {}, cesql: 'TRUE' },
        ],
      }),
    ).toEqual([]);
  });

  it('checks legacy attribute names and values', () => {
    expect(validateTriggerFilter({ filter: { attributes: { Type: 'a', 'my-ext': 'b', ok: 3 } } })).toEqual([
      {
        path: 'spec.filter.attributes.Type',
        message: 'invalid attribute name: must start with a lower-case letter and contain only a-z and 0-9',
      },
      {
        path: 'spec.filter.attributes["my-ext"]',
        message: 'invalid attribute name: must start with a lower-case letter and contain only a-z and 0-9',
      },
      { path: 'spec.filter.attributes.ok', message: 'must be a string' },
    ]);
    expect(validateTriggerFilter({ filter: { attributes: 'type=a', extra: 1 } })).toEqual([
      { path: 'spec.filter.extra', message: 'unknown field' },
      { path: 'spec.filter.attributes', message: 'must be an object' },
    ]);
  });

  it('refuses more than one dialect in one filter', () => {
    expect(validateTriggerFilter({ filters: [{ exact: { type: 'a' }, cesql: 'TRUE' }] })).toEqual([
      {
        path: 'spec.filters[0]',
        message: 'multiple dialects found (exact, cesql), filters can have only one dialect set',
      },
    ]);
  });

  it('refuses more than one attribute in exact / prefix / suffix, and bad names', () => {
    const issues = validateTriggerFilter({
      filters: [{ exact: { type: 'a', source: 'b' } }, { prefix: { '1x': 'a' } }, { suffix: { s: 1 } }],
    });
    expect(issues).toEqual([
      {
        path: 'spec.filters[0].exact',
        message: 'multiple attributes found (type, source), can have only one key-value',
      },
      {
        path: 'spec.filters[1].prefix["1x"]',
        message: 'invalid attribute name: must start with a lower-case letter and contain only a-z and 0-9',
      },
      { path: 'spec.filters[2].suffix.s', message: 'must be a string' },
    ]);
  });

  it('reports CESQL parse errors with their position, nested paths included', () => {
    expect(validateTriggerFilter({ filters: [{}, { cesql: 'type = ' }] })).toEqual([
      {
        path: 'spec.filters[1].cesql',
        message: 'parse error at 7: expected an expression but found end of expression',
      },
    ]);
    expect(validateTriggerFilter({ filters: [{ all: [{ any: [{ not: { cesql: 'x LIKE 1' } }] }] }] })).toEqual([
      {
        path: 'spec.filters[0].all[0].any[0].not.cesql',
        message: "parse error at 7: expected a string literal as LIKE pattern but found '1'",
      },
    ]);
  });

  it('reports wrong shapes and unknown dialects', () => {
    expect(
      validateTriggerFilter({
        filters: [{ sql: 'TRUE' }, 'exact', { all: {} }, { not: [] }, { cesql: 5 }, { exact: 'type' }],
      }),
    ).toEqual([
      {
        path: 'spec.filters[0].sql',
        message: 'unknown filter dialect (expected one of exact, prefix, suffix, all, any, not, cesql)',
      },
      { path: 'spec.filters[1]', message: 'must be an object' },
      { path: 'spec.filters[2].all', message: 'must be a list' },
      { path: 'spec.filters[3].not', message: 'must be an object' },
      { path: 'spec.filters[4].cesql', message: 'must be a string' },
      { path: 'spec.filters[5].exact', message: 'must be an object' },
    ]);
    expect(validateTriggerFilter({ filters: { exact: {} } })).toEqual([
      { path: 'spec.filters', message: 'must be a list' },
    ]);
    expect(validateTriggerFilter('spec', 'x')).toEqual([{ path: 'x', message: 'must be an object' }]);
  });

  it('prefixes paths with the given base', () => {
    expect(validateTriggerFilter({ filters: [{ cesql: '(' }] }, '')[0]!.path).toBe('filters[0].cesql');
    expect(validateTriggerFilter({ filters: [{ cesql: '(' }] }, 'spec')[0]!.path).toBe('spec.filters[0].cesql');
  });
});
