import { describe, expect, it } from 'vitest';
import { InvalidResourceError } from '../../core/errors.ts';
import { parseManifests } from './parse.ts';

describe('parseManifests', () => {
  it('reads multi-document YAML and skips empty documents', () => {
    const docs = parseManifests('---\na: 1\n---\n---\nb: 2\n');
    expect(docs).toEqual([{ a: 1 }, { b: 2 }]);
  });

  it('reads JSON objects, arrays and kind: List', () => {
    expect(parseManifests('{"kind":"Trigger"}')).toEqual([{ kind: 'Trigger' }]);
    expect(parseManifests('[{"a":1},{"b":2}]')).toEqual([{ a: 1 }, { b: 2 }]);
    const list = { apiVersion: 'v1', kind: 'List', items: [{ a: 1 }, { kind: 'TriggerList', items: [{ b: 2 }] }] };
    expect(parseManifests(JSON.stringify(list))).toEqual([{ a: 1 }, { b: 2 }]);
  });

  it('names the document and line of a YAML syntax error', () => {
    expect(() => parseManifests('a: 1\n---\nb: [1, 2\nc: 3\n')).toThrow(/document\[1\] \(line \d+\): invalid YAML/);
    expect(() => parseManifests('- 1\n')).toThrow(InvalidResourceError);
    expect(() => parseManifests('- 1\n')).toThrow(/document\[0\]\[0\]: a resource must be an object/);
  });
});
