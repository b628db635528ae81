import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isScalar, parseDocument, visit } from 'yaml';
import type { CeAttributes, CloudEvent } from '../../../core/cloudevent.ts';
import { CesqlParseError, compileCesql } from './index.ts';

/**
 * Runs every case of the official CESQL v1 TCK (see ../shared/conformance/cesql-tck/SOURCE.md): the result and
 * the error kind are both checked, one test per case.
 */

interface TckCase {
  name: string;
  expression: string;
  result?: string | number | boolean;
  error?: string;
  event?: Record<string, unknown>;
  eventOverrides?: Record<string, unknown>;
}

interface TckFile {
  name: string;
  tests: TckCase[];
}

const projectRoot = fileURLToPath(new URL('../../../../', import.meta.url));
const tckDir = process.env.CESQL_TCK_DIR ?? resolve(projectRoot, '../shared/conformance/cesql-tck');
const available = existsSync(tckDir);

if (!available && process.env.CI === 'true') {
  throw new Error(`CESQL TCK not found at ${tckDir} (set CESQL_TCK_DIR)`);
}

/** The TCK leaves required attributes free unless `event` is given; these fill them in. */
const DEFAULT_EVENT: Readonly<Record<string, unknown>> = {
  specversion: '1.0',
  id: 'tck-id',
  source: 'tck://source',
  type: 'tck.type',
};

function buildEvent(tc: TckCase): CloudEvent {
  const attributes = { ...(tc.event ?? DEFAULT_EVENT), ...tc.eventOverrides };
  for (const [k, v] of Object.entries(attributes)) {
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
      throw new Error(`case "${tc.name}": attribute ${k} has an unsupported value ${JSON.stringify(v)}`);
    }
  }
  return { attributes: attributes as CeAttributes };
}

/**
 * Reads a TCK file keeping each `expression` exactly as written: YAML would otherwise turn the plain scalars
 * `TRUE`, `0` or `-10` into a boolean or a number.
 */
function loadFile(path: string): TckFile {
  const doc = parseDocument(readFileSync(path, 'utf8'));
  visit(doc, {
    Pair(_, pair) {
      if (isScalar(pair.key) && pair.key.value === 'expression' && isScalar(pair.value)) {
        pair.value.value = String(pair.value.source ?? pair.value.value);
      }
    },
  });
  return doc.toJS() as TckFile;
}

function loadFiles(): TckFile[] {
  return readdirSync(tckDir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => loadFile(join(tckDir, f)));
}

describe.skipIf(!available)(`CESQL TCK (${tckDir})`, () => {
  const files = available ? loadFiles() : [];

  it('found the TCK files', () => {
    expect(files.length).toBeGreaterThanOrEqual(18);
  });

  for (const file of files) {
    describe(file.name, () => {
      for (const tc of file.tests) {
        it(`${tc.name}: ${tc.expression}`, () => {
          if (tc.error === 'parse') {
            expect(() => compileCesql(tc.expression)).toThrow(CesqlParseError);
            return;
          }
          const { value, errors } = compileCesql(tc.expression).evaluate(buildEvent(tc));
          if (tc.error === undefined) {
            expect(errors).toEqual([]);
          } else {
            expect(errors.length).toBeGreaterThan(0);
            expect(errors.map((e) => e.kind)).toEqual(errors.map(() => tc.error));
          }
          if (tc.result !== undefined) expect(value).toBe(tc.result);
        });
      }
    });
  }
});
