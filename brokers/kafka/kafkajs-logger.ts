import { type LogEntry, type logCreator, logLevel } from 'kafkajs';
import type { KafkaLogLogger } from './options.ts';

/**
 * kafkajs log lines into a pino-style logger. kafkajs logs every error response at ERROR — including the ones the
 * adapter expects and handles (topic exists, group not found, rebalance in progress) — so `[Connection] Response`
 * lines and the runner's rebalance notices go to debug; the rest of WARN/ERROR stays warn/error.
 */
export function kafkajsLogCreator(logger: KafkaLogLogger | undefined): { logLevel: logLevel; logCreator: logCreator } {
  if (logger === undefined) return { logLevel: logLevel.NOTHING, logCreator: () => () => {} };
  return {
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ namespace, level, log }: LogEntry) => {
        const { message, timestamp: _timestamp, ...extra } = log;
        const fields = { component: 'kafkajs', namespace, ...extra };
        if (isExpectedNoise(namespace, message)) logger.debug(fields, message);
        else if (level === logLevel.ERROR) logger.error(fields, message);
        else if (level === logLevel.WARN) logger.warn(fields, message);
        else logger.debug(fields, message);
      },
  };
}

function isExpectedNoise(namespace: string, message: string): boolean {
  return (
    message.startsWith('Response ') ||
    (namespace === 'Connection' && message.includes('Response')) ||
    message.includes('group is rebalancing') ||
    message.startsWith('Restarting the consumer') ||
    message.startsWith('Crash:')
  );
}
