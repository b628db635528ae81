import { describe, expect, it } from 'vitest';
import { InvalidResourceError } from '../errors.ts';
import { compileTriggerFilter, FilterValidationError } from './compile.ts';
import { testEvent } from './testing.ts';

describe('compileTriggerFilter', () => {
  it('matches everything without filters', () => {
    expect(compileTriggerFilter({}).match(testEvent())).toBe(true);
    expect(compileTriggerFilter({ filter: {} }).match(testEvent())).toBe(true);
    expect(compileTriggerFilter({ filter: { attributes: {} }, filters: [] }).match(testEvent())).toBe(true);
    expect(compileTriggerFilter({ filters: [{}, { not: {} }, { any: [] }] }).match(testEvent())).toBe(true);
  });

  it('applies the legacy attributes filter when there are no filters', () => {
    const f = compileTriggerFilter({ filter: { attributes: { type: 'a', subject: '' } } });
    expect(f.match(testEvent({ type: 'a', subject: 's' }))).toBe(true);
    expect(f.match(testEvent({ type: 'a' }))).toBe(false);
    expect(f.match(testEvent({ type: 'b', subject: 's' }))).toBe(false);
  });

  it('lets non-empty filters override filter', () => {
    const f = compileTriggerFilter({
      filter: { attributes: { type: 'legacy' } },
      filters: [{ exact: { type: 'new' } }],
    });
    expect(f.match(testEvent({ type: 'new' }))).toBe(true);
    expect(f.match(testEvent({ type: 'legacy' }))).toBe(false);
  });

  it('ANDs the filters list and nests dialects', () => {
    const f = compileTriggerFilter({
      filters: [
        { exact: { type: 'dev.elasticserving.inference.request' } },
        { cesql: "model = 'iris' AND (source LIKE '/clients/%')" },
        { any: [{ suffix: { subject: '.json' } }, { not: { prefix: { subject: 'raw/' } } }] },
      ],
    });
    const base = { type: 'dev.elasticserving.inference.request', model: 'iris', source: '/clients/1' };
    expect(f.match(testEvent({ ...base, subject: 'a.json' }))).toBe(true);
    expect(f.match(testEvent({ ...base, subject: 'raw/a.bin' }))).toBe(false);
    expect(f.match(testEvent({ ...base, subject: 'cooked/a.bin' }))).toBe(true);
    expect(f.match(testEvent({ ...base, model: 'other', subject: 'a.json' }))).toBe(false);
    expect(f.match(testEvent({ ...base, type: 'x', subject: 'a.json' }))).toBe(false);
  });

  it('throws a FilterValidationError naming every path', () => {
    let error: unknown;
    try {
      compileTriggerFilter({
        filter: { attributes: { 'Bad-Key': 'x' } },
        filters: [{ exact: { type: 'a' } }, { cesql: 'type = ' }],
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(FilterValidationError);
    expect(error).toBeInstanceOf(InvalidResourceError);
    const e = error as FilterValidationError;
    expect(e.code).toBe('ES_ERR_INVALID_RESOURCE');
    expect(e.statusCode).toBe(422);
    expect(e.issues.map((i) => i.path)).toEqual(['spec.filter.attributes["Bad-Key"]', 'spec.filters[1].cesql']);
    expect(e.message).toContain('spec.filters[1].cesql: parse error at 7: expected an expression');
  });
});
