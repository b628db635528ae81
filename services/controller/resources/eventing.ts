import { z } from 'zod';
import {
  type DeliverySpec,
  type Destination,
  deliverySchema,
  destination,
  type KReference,
  nonEmpty,
  objectOf,
  type Strictness,
} from './common.ts';
import type { FieldIssue, Resource } from './types.ts';

/** Annotation choosing a broker's channel (ours). */
export const BROKER_CLASS_ANNOTATION = 'eventing.elastic-serving.dev/broker.class';
/** Annotation keeping a broker's stream/topic when the Broker is deleted (like Knative Kafka's external topics). */
export const KEEP_TOPIC_ANNOTATION = 'eventing.elastic-serving.dev/broker.keep-topic';
/** `spec.config` naming a channel: `{ kind: Channel, name: nats }`, a KReference as Knative's config is. */
export const CHANNEL_CONFIG_KIND = 'Channel';
/** Knative's broker-class annotation, mapped onto our channels. */
export const KNATIVE_BROKER_CLASS_ANNOTATION = 'eventing.knative.dev/broker.class';
export const DELIVERY_ORDER_ANNOTATION = 'eventing.elastic-serving.dev/delivery.order';
/** Knative Kafka's ordering annotation, accepted as an alias of ours. */
export const KAFKA_DELIVERY_ORDER_ANNOTATION = 'kafka.eventing.knative.dev/delivery.order';
export const MAX_IN_FLIGHT_ANNOTATION = 'eventing.elastic-serving.dev/delivery.max-in-flight';
export const RATE_LIMIT_ANNOTATION = 'eventing.elastic-serving.dev/delivery.rate-limit';

export const CHANNELS = ['memory', 'nats', 'kafka', 'redis'] as const;
export type ChannelName = (typeof CHANNELS)[number];

/** Knative broker classes we can serve; `undefined` means "the platform default channel". */
const KNATIVE_CLASSES: Readonly<Record<string, ChannelName | undefined>> = {
  Kafka: 'kafka',
  KafkaNamespaced: 'kafka',
  MTChannelBasedBroker: undefined,
};

/** Default number of unordered deliveries in flight per trigger. */
export const DEFAULT_MAX_IN_FLIGHT = 50;

export interface BrokerSpec {
  config?: KReference;
  delivery?: DeliverySpec;
}

export interface TriggerSpec {
  broker: string;
  /** Legacy exact-match filter; keys match `^[a-z][a-z0-9]*$`, `""` matches any present value. */
  filter?: { attributes?: Record<string, string> };
  /** New-style filters (`exact`, `prefix`, `suffix`, `all`, `any`, `not`, `cesql`); override `filter`. */
  filters?: Record<string, unknown>[];
  subscriber: Destination;
  delivery?: DeliverySpec;
}

export type BrokerResource = Resource<BrokerSpec>;
export type TriggerResource = Resource<TriggerSpec>;

const ATTRIBUTE_KEY = /^[a-z][a-z0-9]*$/;

export function brokerSpecSchema(mode: Strictness) {
  return objectOf(mode, {
    config: objectOf('loose', { kind: nonEmpty, name: nonEmpty })
      .refine((c) => c.kind !== CHANNEL_CONFIG_KIND || (CHANNELS as readonly string[]).includes(c.name), {
        message: `a config of kind ${CHANNEL_CONFIG_KIND} names one of ${CHANNELS.join('|')}`,
        path: ['name'],
      })
      .optional(),
    delivery: deliverySchema(mode).optional(),
  });
}

export function triggerSpecSchema(mode: Strictness) {
  return objectOf(mode, {
    broker: nonEmpty,
    filter: objectOf(mode, {
      attributes: z
        .record(
          z.string().regex(ATTRIBUTE_KEY, 'attribute names must match ^[a-z][a-z0-9]*$'),
          z.string('must be a string ("" matches any value)'),
        )
        .optional(),
    }).optional(),
    filters: z.array(z.record(z.string(), z.unknown(), 'each filter must be an object')).optional(),
    subscriber: destination(mode),
    delivery: deliverySchema(mode).optional(),
  });
}

function annotationPath(key: string): string {
  return `metadata.annotations[${JSON.stringify(key)}]`;
}

export function brokerAnnotationIssues(annotations: Record<string, string>): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const ours = annotations[BROKER_CLASS_ANNOTATION];
  if (ours !== undefined && !(CHANNELS as readonly string[]).includes(ours)) {
    issues.push({ path: annotationPath(BROKER_CLASS_ANNOTATION), message: `must be one of ${CHANNELS.join('|')}` });
  }
  const knative = annotations[KNATIVE_BROKER_CLASS_ANNOTATION];
  if (knative !== undefined && !(knative in KNATIVE_CLASSES) && !(CHANNELS as readonly string[]).includes(knative)) {
    issues.push({
      path: annotationPath(KNATIVE_BROKER_CLASS_ANNOTATION),
      message: `unsupported broker class ${JSON.stringify(knative)} (supported: ${Object.keys(KNATIVE_CLASSES).join(', ')}, ${CHANNELS.join(', ')})`,
    });
  }
  return issues;
}

export function triggerAnnotationIssues(annotations: Record<string, string>): FieldIssue[] {
  const issues: FieldIssue[] = [];
  for (const key of [DELIVERY_ORDER_ANNOTATION, KAFKA_DELIVERY_ORDER_ANNOTATION]) {
    const value = annotations[key];
    if (value !== undefined && value !== 'ordered' && value !== 'unordered') {
      issues.push({ path: annotationPath(key), message: 'must be "ordered" or "unordered"' });
    }
  }
  const maxInFlight = annotations[MAX_IN_FLIGHT_ANNOTATION];
  if (maxInFlight !== undefined && !/^[1-9]\d*$/.test(maxInFlight)) {
    issues.push({ path: annotationPath(MAX_IN_FLIGHT_ANNOTATION), message: 'must be a positive integer' });
  }
  const rate = annotations[RATE_LIMIT_ANNOTATION];
  if (rate !== undefined && !(/^\d+(\.\d+)?$/.test(rate) && Number(rate) > 0)) {
    issues.push({ path: annotationPath(RATE_LIMIT_ANNOTATION), message: 'must be a positive number (events/s)' });
  }
  return issues;
}

/**
 * The channel a broker runs on: our annotation first, then `spec.config` of kind `Channel`, then Knative's
 * annotation (Kafka/KafkaNamespaced → kafka, MTChannelBasedBroker → the platform default), else the platform
 * default.
 */
export function brokerChannel(broker: Resource, platformDefault: ChannelName): ChannelName {
  const annotations = broker.metadata.annotations ?? {};
  const ours = annotations[BROKER_CLASS_ANNOTATION];
  if (ours !== undefined && (CHANNELS as readonly string[]).includes(ours)) return ours as ChannelName;
  const config = (broker.spec as BrokerSpec | undefined)?.config;
  if (config?.kind === CHANNEL_CONFIG_KIND && (CHANNELS as readonly string[]).includes(config.name)) {
    return config.name as ChannelName;
  }
  const knative = annotations[KNATIVE_BROKER_CLASS_ANNOTATION];
  if (knative !== undefined) {
    if ((CHANNELS as readonly string[]).includes(knative)) return knative as ChannelName;
    return KNATIVE_CLASSES[knative] ?? platformDefault;
  }
  return platformDefault;
}

/** Whether deleting the Broker leaves its stream/topic (and events) on the engine. */
export function keepsTopic(broker: Resource): boolean {
  return broker.metadata.annotations?.[KEEP_TOPIC_ANNOTATION] === 'true';
}

/** Flow control of one trigger, from its annotations (DESIGN §5). */
export interface TriggerFlowControl {
  /** Ordered: one in flight per `partitionkey`. */
  order: 'ordered' | 'unordered';
  /** Unordered deliveries in flight at once. */
  maxInFlight: number;
  /** Events per second, when limited. */
  rateLimit?: number;
}

export function triggerFlowControl(trigger: Resource): TriggerFlowControl {
  const annotations = trigger.metadata.annotations ?? {};
  const order = annotations[DELIVERY_ORDER_ANNOTATION] ?? annotations[KAFKA_DELIVERY_ORDER_ANNOTATION];
  const maxInFlight = Number(annotations[MAX_IN_FLIGHT_ANNOTATION]);
  const rate = Number(annotations[RATE_LIMIT_ANNOTATION]);
  const flow: TriggerFlowControl = {
    order: order === 'ordered' ? 'ordered' : 'unordered',
    maxInFlight: Number.isInteger(maxInFlight) && maxInFlight > 0 ? maxInFlight : DEFAULT_MAX_IN_FLIGHT,
  };
  if (Number.isFinite(rate) && rate > 0) flow.rateLimit = rate;
  return flow;
}
