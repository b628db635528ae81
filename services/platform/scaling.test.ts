import { describe, expect, it } from 'vitest';
import { InvalidResourceError } from '../core/errors.ts';
import type { ReplicaInfo } from '../runtime/types.ts';
import { functionStatus, scaleReason } from './function-status.ts';
import { fixedReplicas, targetBurstCapacity } from './scaling.ts';

describe('which Functions the autoscaler decides', () => {
  it('leaves spec.replicas alone in charge, and scales everything else', () => {
    expect(fixedReplicas({ handler: 'h.ts', replicas: 3 })).toBe(3);
    expect(fixedReplicas({ handler: 'h.ts', replicas: 0 })).toBe(0);
    expect(fixedReplicas({ handler: 'h.ts' })).toBeUndefined();
    expect(fixedReplicas({ handler: 'h.ts', replicas: 3, scaling: { maxScale: 5 } })).toBeUndefined();
    expect(
      fixedReplicas({ handler: 'h.ts', replicas: 3 }, { 'autoscaling.knative.dev/min-scale': '1' }),
    ).toBeUndefined();
    expect(fixedReplicas({ handler: 'h.ts', replicas: 3 }, { 'example.com/team': 'a' })).toBe(3);
  });

  it('reads target-burst-capacity in both Knative spellings, -1 included', () => {
    expect(targetBurstCapacity({}, 200)).toBe(200);
    expect(targetBurstCapacity({ 'autoscaling.knative.dev/target-burst-capacity': '0' }, 200)).toBe(0);
    expect(targetBurstCapacity({ 'autoscaling.knative.dev/targetBurstCapacity': '-1' }, 200)).toBe(-1);
    expect(targetBurstCapacity({ 'autoscaling.knative.dev/target-burst-capacity': '70.5' }, 200)).toBe(70.5);
    expect(() => targetBurstCapacity({ 'autoscaling.knative.dev/target-burst-capacity': '-2' }, 200)).toThrow(
      InvalidResourceError,
    );
    expect(() => targetBurstCapacity({ 'autoscaling.knative.dev/target-burst-capacity': 'lots' }, 200)).toThrow(
      /target-burst-capacity.*"lots" must be -1 or a number >= 0/,
    );
  });
});

const replica = (r: Partial<ReplicaInfo>): ReplicaInfo => ({
  id: 'f-1',
  port: 1,
  ready: true,
  pid: 1,
  restarts: 0,
  state: 'ready',
  generation: 1,
  ...r,
});
const autoscaled = {
  desired: 2,
  ready: 1,
  panic: true,
  metric: 'concurrency' as const,
  value: 12.345,
  target: 7,
  queueDepth: undefined,
  reason: 'panic: concurrency 12.3 / target 7 → 2',
};

describe('Function status', () => {
  it('reports ready/desired, restarts and why, Ready while replicas serve', () => {
    const s = functionStatus([replica({ restarts: 2, lastError: 'exited with signal SIGKILL' })], {
      desired: 2,
      autoscaler: autoscaled,
      activatorInPath: true,
    });
    expect(s).toMatchObject({
      readyReplicas: 1,
      desiredReplicas: 2,
      replicaRestarts: 2,
      lastReplicaFailure: 'f-1: exited with signal SIGKILL',
      scaling: {
        mode: 'autoscaled',
        metric: 'concurrency',
        value: 12.35,
        target: 7,
        panic: true,
        activatorInPath: true,
      },
    });
    expect(s.conditions).toEqual([
      {
        type: 'Ready',
        status: 'True',
        reason: 'ReplicasReady',
        message: '1/2 ready; concurrency 12.35 / target 7, panic',
      },
    ]);
  });

  it('is Ready at zero, not Ready with a crash-looping replica, Unknown while replicas start', () => {
    expect(functionStatus([], { desired: 0, autoscaler: { ...autoscaled, desired: 0 } }).conditions?.[0]).toMatchObject(
      {
        status: 'True',
        reason: 'ScaledToZero',
      },
    );
    const crashing = replica({ ready: false, state: 'backoff', restarts: 3, lastError: 'exited with code 1: boom' });
    expect(functionStatus([crashing], { desired: 1 }).conditions?.[0]).toEqual({
      type: 'Ready',
      status: 'False',
      reason: 'ReplicaFailing',
      message: 'exited with code 1: boom',
    });
    expect(
      functionStatus([replica({ ready: false, state: 'starting' })], { desired: 1 }).conditions?.[0],
    ).toMatchObject({ status: 'Unknown', reason: 'ReplicasStarting' });
    expect(scaleReason({ desired: 3 })).toBe('fixed at 3 (spec.replicas)');
  });
});
