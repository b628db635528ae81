/**
 * Defaults and checks of `SubscribeOptions` (contract.ts), one copy for every channel adapter so that a trigger
 * behaves the same whichever engine its Broker uses.
 */
import { ElasticServingError } from '../services/core/errors.ts';
import type { SubscribeOptions } from './contract.ts';

/** The `@defaultValue`s documented on `SubscribeOptions`. */
export const SUBSCRIBE_DEFAULTS = {
  ordered: false,
  maxInFlight: 50,
  ackWaitMs: 30_000,
  redeliveryDelayMs: 100,
} as const;

/** `SubscribeOptions` with every delivery setting filled in (`from` matters only when a group is created). */
export interface ResolvedSubscribeOptions {
  /** See `SubscribeOptions.ordered`. */
  ordered: boolean;
  /** See `SubscribeOptions.maxInFlight`; a safe integer >= 1. */
  maxInFlight: number;
  /** See `SubscribeOptions.ackWaitMs`; a finite number >= 1. */
  ackWaitMs: number;
  /** See `SubscribeOptions.redeliveryDelayMs`; a finite number >= 0. */
  redeliveryDelayMs: number;
}

/** Fills in the defaults; a value out of range is refused with `ES_ERR_BAD_REQUEST` before anything is created. */
export function resolveSubscribeOptions(options: SubscribeOptions): ResolvedSubscribeOptions {
  const resolved = {
    ordered: options.ordered ?? SUBSCRIBE_DEFAULTS.ordered,
    maxInFlight: options.maxInFlight ?? SUBSCRIBE_DEFAULTS.maxInFlight,
    ackWaitMs: options.ackWaitMs ?? SUBSCRIBE_DEFAULTS.ackWaitMs,
    redeliveryDelayMs: options.redeliveryDelayMs ?? SUBSCRIBE_DEFAULTS.redeliveryDelayMs,
  };
  requireInteger('maxInFlight', resolved.maxInFlight, 1);
  requireNumber('ackWaitMs', resolved.ackWaitMs, 1);
  requireNumber('redeliveryDelayMs', resolved.redeliveryDelayMs, 0);
  return resolved;
}

/** Throws `ES_ERR_BAD_REQUEST` unless `value` is a safe integer >= `min`. */
export function requireInteger(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new ElasticServingError('ES_ERR_BAD_REQUEST', `${name} must be an integer >= ${min}, got ${value}`);
  }
}

/** Throws `ES_ERR_BAD_REQUEST` unless `value` is a finite number >= `min`. */
export function requireNumber(name: string, value: number, min: number): void {
  if (!Number.isFinite(value) || value < min) {
    throw new ElasticServingError('ES_ERR_BAD_REQUEST', `${name} must be a number >= ${min}, got ${value}`);
  }
}
