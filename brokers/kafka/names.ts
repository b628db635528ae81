import { createHash } from 'node:crypto';
import { ElasticServingError } from '../../services/core/errors.ts';

/**
 * How EventLog topic and group names become Kafka topic names and consumer group ids.
 *
 * - A name made only of `[A-Za-z0-9.-]` (what Kubernetes names and `namespace.broker` strings are) is used as is.
 *   Anything else has each other character replaced by `-` and gets `-h<10 hex of its SHA-256>` appended, so two
 *   different names never meet; overlong names are cut the same way. Mapped names never contain `_`.
 * - Kafka topic: `<prefix>.<topic>` (`<topic>` when the prefix is empty), e.g. `es.default.default`.
 * - Consumer group: `<kafka topic>_<group>`, e.g. `es.default.default_my-trigger`. `_` appears in no mapped part,
 *   so the groups of a topic are exactly the ids starting with `<kafka topic>_` (what `deleteTopic` removes), and
 *   Kafka's rule that topic names differing only in `.`/`_` collide never bites.
 */
export class KafkaNames {
  readonly #prefix: string;

  constructor(prefix: string) {
    if (!/^[A-Za-z0-9.-]*$/.test(prefix) || prefix.length > 60) {
      throw new ElasticServingError(
        'ES_ERR_BAD_REQUEST',
        `kafka name prefix must match [A-Za-z0-9.-]{0,60}: ${prefix}`,
      );
    }
    this.#prefix = prefix;
  }

  topic(topic: string): string {
    const name = safePart(topic, 180);
    return this.#prefix === '' ? name : `${this.#prefix}.${name}`;
  }

  group(topic: string, group: string): string {
    return `${this.groupPrefix(topic)}${safePart(group, 180)}`;
  }

  /** Every consumer group of `topic` starts with this. */
  groupPrefix(topic: string): string {
    return `${this.topic(topic)}_`;
  }
}

function safePart(name: string, maxLength: number): string {
  if (name.length === 0)
    throw new ElasticServingError('ES_ERR_BAD_REQUEST', 'kafka topic and group names are non-empty');
  if (name.length <= maxLength && /^[A-Za-z0-9.-]+$/.test(name) && name !== '.' && name !== '..') return name;
  const digest = createHash('sha256').update(name).digest('hex').slice(0, 10);
  return `${name.replace(/[^A-Za-z0-9.-]/g, '-').slice(0, maxLength - 12)}-h${digest}`;
}
