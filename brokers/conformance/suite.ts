import { afterAll, beforeAll, describe } from 'vitest';
import type { EventLog } from '../contract.ts';
import { adminCases } from './cases-admin.ts';
import { deliveryCases } from './cases-delivery.ts';
import { orderingCases } from './cases-ordering.ts';
import { volumeCases } from './cases-volume.ts';
import type { ChildLogFactory } from './child-subscriber-process.ts';
import type { SuiteContext } from './helpers.ts';

/** Options of the EventLog conformance suite. */
export interface ConformanceOptions {
  /**
   * Makes a topic/group name no other test (or earlier run against the same server) uses.
   * @defaultValue `es-<time>-<counter>-<random>` in `[a-z0-9-]`
   */
  uniqueName?: () => string;
  /**
   * Multiplies every delay, ack wait and timeout in the cases, for backends with slower round trips.
   * @defaultValue 1
   */
  timeScale?: number;
  /** What the adapter declares it supports; cases for an unsupported feature are skipped, not weakened. */
  capabilities?: {
    /**
     * Drops an appended event whose `source`+`id` was already stored.
     * @defaultValue false
     */
    dedup?: boolean;
  };
  /**
   * How a separate process creates this adapter's log, for the case that SIGKILLs a consumer process. Without it
   * that case is skipped (an in-process backend has nothing to recover from a dead process).
   */
  childFactory?: ChildLogFactory;
}

let counter = 0;
const defaultUniqueName = (): string =>
  `es-${Date.now().toString(36)}-${(counter++).toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

/**
 * Registers the EventLog conformance suite (vitest `describe`/`it`) for one adapter.
 *
 * `makeLog` is called once for the log shared by most cases and again by cases that close their own log; every
 * case uses fresh topic and group names, so the suite runs against a shared, long-lived server.
 */
export function runEventLogConformance(
  name: string,
  makeLog: () => Promise<EventLog>,
  opts: ConformanceOptions = {},
): void {
  const unique = opts.uniqueName ?? defaultUniqueName;
  const scale = opts.timeScale ?? 1;
  let shared: EventLog | undefined;
  const context: SuiteContext = {
    log: () => {
      if (shared === undefined) throw new Error('the shared log is not created yet');
      return shared;
    },
    makeLog,
    name: (prefix) => `${prefix}-${unique()}`,
    ms: (value) => Math.round(value * scale),
    capabilities: { dedup: opts.capabilities?.dedup ?? false },
    childFactory: opts.childFactory,
  };

  describe(`EventLog conformance: ${name}`, () => {
    beforeAll(async () => {
      shared = await makeLog();
    });
    afterAll(async () => {
      await shared?.close(context.ms(1000));
    });
    deliveryCases(context);
    orderingCases(context);
    adminCases(context);
    volumeCases(context);
  });
}
