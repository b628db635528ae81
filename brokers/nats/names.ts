import { createHash } from 'node:crypto';

/** Longest stream or consumer name we produce: well under JetStream's limit and a file name's 255 bytes. */
const MAX_NAME = 200;
const KEEP = /^[A-Za-z0-9-]*$/;

/**
 * Maps an arbitrary string to `[A-Za-z0-9_-]`: `A-Z a-z 0-9 -` stay, every other UTF-8 byte becomes `_XX`
 * (upper-case hex). `_` is only ever an escape, so the mapping is injective and reversible.
 */
export function escapeName(raw: string): string {
  if (KEEP.test(raw)) return raw;
  let out = '';
  for (const ch of raw) {
    if (KEEP.test(ch)) out += ch;
    else for (const byte of Buffer.from(ch, 'utf8')) out += `_${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Keeps a name within `MAX_NAME`: a longer one is cut and ends with a hash of the whole, so it stays unique. */
function bounded(name: string): string {
  if (name.length <= MAX_NAME) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 16);
  return `${name.slice(0, MAX_NAME - 17)}-${hash}`;
}

/** The names one topic and its groups use on the server. */
export interface TopicNames {
  stream: string;
  subject: string;
}

/** Stream `<prefix>_<escaped topic>` with the single subject `<prefix>.events.<escaped topic>`. */
export function topicNames(prefix: string, topic: string): TopicNames {
  const escaped = escapeName(topic);
  return { stream: bounded(`${prefix}_${escaped}`), subject: `${prefix}.events.${bounded(escaped)}` };
}

/** Durable consumer `<prefix>_<escaped group>`. */
export function durableName(prefix: string, group: string): string {
  return bounded(`${prefix}_${escapeName(group)}`);
}
