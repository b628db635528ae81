import { ElasticServingError } from '../../services/core/errors.ts';
import type { PartitionOffset } from './admin-ops.ts';

/** The position given to handlers: `<partition>:<offset>`. */
export function formatPosition(partition: number, offset: string | number): string {
  return `${partition}:${offset}`;
}

/** Parses `p:o` or a comma-separated list of them (one per partition). */
export function parseReplayPositions(position: string): PartitionOffset[] {
  const out: PartitionOffset[] = [];
  for (const part of position.split(',')) {
    const match = /^\s*(\d{1,9}):(\d{1,15})\s*$/.exec(part);
    if (match === null) {
      throw new ElasticServingError(
        'ES_ERR_BAD_REQUEST',
        `invalid kafka position "${position}" (expected <partition>:<offset>[,...])`,
      );
    }
    const partition = Number(match[1]);
    if (out.some((entry) => entry.partition === partition)) {
      throw new ElasticServingError(
        'ES_ERR_BAD_REQUEST',
        `kafka position "${position}" names partition ${partition} twice`,
      );
    }
    out.push({ partition, offset: Number(match[2]) });
  }
  return out;
}
