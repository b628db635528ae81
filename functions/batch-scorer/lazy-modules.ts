/**
 * BullMQ, ioredis and cli-progress, loaded on first use through `require`. The CLI runs under a TypeScript loader (tsx), and a
 * CommonJS package imported from an ES module then has every one of its own `require`s sent through the loader's
 * hooks: BullMQ took ~280 ms at every start of the CLI that way, ~80 ms through `require`; and a batch on the
 * in-process queue needs neither package.
 *
 * Bundled into a Function (services/runtime/transpile.ts), `require` is defined and the bundler sees the literal
 * `require('bullmq')`, so the package is bundled like any other; under tsx it is not, and a `createRequire` of this
 * file loads it from node_modules.
 */
import { createRequire } from 'node:module';

type BullMQ = typeof import('bullmq');
type IORedis = typeof import('ioredis');
type CliProgress = typeof import('cli-progress');

const bundled = typeof require === 'function';
const local = bundled ? undefined : createRequire(import.meta.url);
let bull: BullMQ | undefined;
let redis: IORedis | undefined;
let progress: CliProgress | undefined;

export function bullmq(): BullMQ {
  bull ??= (bundled ? require('bullmq') : local!('bullmq')) as BullMQ;
  return bull;
}

export function ioredis(): IORedis {
  redis ??= (bundled ? require('ioredis') : local!('ioredis')) as IORedis;
  return redis;
}

export function cliProgress(): CliProgress {
  progress ??= (bundled ? require('cli-progress') : local!('cli-progress')) as CliProgress;
  return progress;
}
