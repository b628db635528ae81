/** A handler used by the runtime tests, written to a temp dir (outside the project, as a user's file may be). */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const HELPER = `export const greeting = (who: string): string => 'hello ' + who;\n`;

const HANDLER = `
import { readFileSync, writeFileSync } from 'node:fs';
import { defineFunction, NonRetriableError } from 'elastic-serving/sdk';
import { greeting } from './helper.ts';

// Crash at start while a counter file says so (crash-restart tests).
if (process.env.CRASH_FILE) {
  let n = 0;
  try { n = Number(readFileSync(process.env.CRASH_FILE, 'utf8')); } catch {}
  writeFileSync(process.env.CRASH_FILE, String(n + 1));
  if (n < Number(process.env.CRASH_TIMES ?? '0')) {
    console.error('boom: crashing on purpose, start ' + (n + 1));
    process.exit(3);
  }
}

let concurrent = 0;
type Req = { ms?: number; fail?: boolean };

export default defineFunction<Req>(async (event, ctx) => {
  concurrent++;
  const seen = concurrent;
  try {
    if (event.data?.fail) throw new NonRetriableError('asked to fail');
    if (event.data?.ms) await new Promise((r) => setTimeout(r, event.data!.ms));
    ctx.logger.info({ id: event.id }, 'handled');
    return { pid: process.pid, concurrent: seen, path: ctx.path, env: process.env.GREETING ?? null, hello: greeting(ctx.name) };
  } finally {
    concurrent--;
  }
}, { replyType: 'dev.test.fixture.reply' });
`;

/** Writes the fixture handler (+ a local helper it imports) and returns its path. */
export function writeFixtureHandler(dir = mkdtempSync(join(tmpdir(), 'es-runtime-'))): {
  dir: string;
  handler: string;
  helper: string;
} {
  const handler = join(dir, 'handler.ts');
  const helper = join(dir, 'helper.ts');
  writeFileSync(handler, HANDLER);
  writeFileSync(helper, HELPER);
  return { dir, handler, helper };
}

export function ceHeaders(id: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    'ce-specversion': '1.0',
    'ce-id': id,
    'ce-source': '/tests',
    'ce-type': 'dev.test.fixture',
    'content-type': 'application/json',
    ...extra,
  };
}
