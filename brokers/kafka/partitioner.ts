import { type ICustomPartitioner, Partitioners } from 'kafkajs';

/** Where records without a key go; see `KafkaEventLogOptions.keylessPartition`. */
export type KeylessPlacement = 'first' | 'last' | 'round-robin';

/**
 * kafkajs' default partitioner (murmur2 of the key, as the Java client, so keyed records land where other Kafka
 * clients put them), except that keyless records all go to one partition of the topic — the first or the last
 * one by the topic's actual metadata — unless `round-robin` is asked for.
 */
export function keylessAwarePartitioner(placement: KeylessPlacement): ICustomPartitioner {
  return () => {
    const byKey = Partitioners.DefaultPartitioner();
    return (args) => {
      const { message, partitionMetadata } = args;
      if (placement === 'round-robin' || message.key != null || message.partition != null) return byKey(args);
      return placement === 'first' ? 0 : partitionMetadata.length - 1;
    };
  };
}
