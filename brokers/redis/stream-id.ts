import { ElasticServingError } from '../../services/core/errors.ts';
import type { ReplayFrom } from '../contract.ts';

/**
 * Stream entry IDs are `<ms>-<seq>` (two unsigned 64-bit integers, ms = Redis server time at XADD). A consumer
 * group's position is its last-delivered ID: the group next gets the first entry after it. These helpers compute
 * that ID for a replay target, with BigInt since both halves may exceed 2^53.
 */
const MAX = (1n << 64n) - 1n;
const ID = /^(\d{1,20})-(\d{1,20})$/;

function parse(id: string): [bigint, bigint] | undefined {
  const match = ID.exec(id);
  if (match === null) return undefined;
  const ms = BigInt(match[1]!);
  const seq = BigInt(match[2]!);
  return ms > MAX || seq > MAX ? undefined : [ms, seq];
}

/** The ID right before `id`, so that a group positioned there gets `id` next. */
function before(ms: bigint, seq: bigint): string {
  if (seq > 0n) return `${ms}-${seq - 1n}`;
  if (ms > 0n) return `${ms - 1n}-${MAX}`;
  return '0-0';
}

/** The last-delivered ID that makes a group restart at `from` (inclusive). */
export function replayLastId(from: ReplayFrom): string {
  if (from === 'beginning') return '0-0';
  if ('position' in from) {
    const id = parse(from.position);
    if (id === undefined) {
      throw new ElasticServingError('ES_ERR_BAD_REQUEST', `invalid redis stream position "${from.position}"`);
    }
    return before(id[0], id[1]);
  }
  const time = from.time.getTime();
  if (Number.isNaN(time)) throw new ElasticServingError('ES_ERR_BAD_REQUEST', 'invalid replay time');
  return before(BigInt(Math.max(0, Math.floor(time))), 0n);
}
