import { describe, expect, it } from 'vitest';
import { JsonPatchError, jsonEqual, jsonPatch, mergePatch } from './json.ts';

describe('json helpers', () => {
  it('compares ignoring key order', () => {
    expect(jsonEqual({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 })).toBe(true);
    expect(jsonEqual({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(jsonEqual([1, 2], [2, 1])).toBe(false);
  });

  it('merge-patches per RFC 7386', () => {
    expect(mergePatch({ a: 'b', c: { d: 'e', f: 'g' } }, { a: 'z', c: { f: null } })).toEqual({
      a: 'z',
      c: { d: 'e' },
    });
    expect(mergePatch({ a: [1, 2] }, { a: [3] })).toEqual({ a: [3] });
  });

  it('json-patches per RFC 6902', () => {
    const doc = { spec: { filters: [{ a: 1 }], broker: 'x' } };
    const out = jsonPatch(doc, [
      { op: 'add', path: '/spec/filters/-', value: { b: 2 } },
      { op: 'replace', path: '/spec/broker', value: 'y' },
      { op: 'test', path: '/spec/broker', value: 'y' },
      { op: 'copy', from: '/spec/broker', path: '/spec/copy' },
      { op: 'remove', path: '/spec/filters/0' },
    ]);
    expect(out).toEqual({ spec: { filters: [{ b: 2 }], broker: 'y', copy: 'y' } });
    expect(doc.spec.broker).toBe('x');
    expect(() => jsonPatch(doc, [{ op: 'replace', path: '/nope/x', value: 1 }])).toThrow(JsonPatchError);
    expect(() => jsonPatch(doc, [{ op: 'test', path: '/spec/broker', value: 'q' }])).toThrow(/test failed/);
  });
});
