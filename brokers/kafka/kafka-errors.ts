/** Reading kafkajs errors: they nest (`cause`, `originalError`) and carry the protocol error name in `type`. */

interface KafkaJsErrorShape {
  name?: string;
  type?: string;
  message?: string;
  cause?: unknown;
  originalError?: unknown;
  errors?: unknown[];
}

/** Every error in the chain, outermost first (bounded, in case of cycles). */
function chain(err: unknown): KafkaJsErrorShape[] {
  const out: KafkaJsErrorShape[] = [];
  let current: unknown = err;
  while (current !== null && typeof current === 'object' && out.length < 8) {
    const shape = current as KafkaJsErrorShape;
    out.push(shape);
    current = shape.cause ?? shape.originalError;
  }
  return out;
}

/** The Kafka protocol error type (e.g. `UNKNOWN_TOPIC_OR_PARTITION`) anywhere in the chain. */
export function protocolType(err: unknown): string | undefined {
  for (const link of chain(err)) {
    if (typeof link.type === 'string') return link.type;
    for (const inner of link.errors ?? []) {
      const type = protocolType(inner);
      if (type !== undefined) return type;
    }
  }
  return undefined;
}

export function hasErrorName(err: unknown, name: string): boolean {
  return chain(err).some((link) => link.name === name);
}

const CONNECTION_ERRORS = [
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSNumberOfRetriesExceeded',
  'KafkaJSRequestTimeoutError',
  'KafkaJSBrokerNotFound',
  'KafkaJSNoBrokerAvailableError',
];

/** Whether `err` (anywhere in its chain) says the cluster could not be reached or did not answer. */
export function isConnectionError(err: unknown): boolean {
  return CONNECTION_ERRORS.some((name) => hasErrorName(err, name));
}

const TOPIC_MISSING = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'UNKNOWN_TOPIC_ID']);
const TOO_LARGE = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_RECORD']);

export function isTopicMissing(err: unknown): boolean {
  const type = protocolType(err);
  return (type !== undefined && TOPIC_MISSING.has(type)) || hasErrorName(err, 'KafkaJSMetadataNotLoaded');
}

export function isTooLarge(err: unknown): boolean {
  const type = protocolType(err);
  return type !== undefined && TOO_LARGE.has(type);
}
