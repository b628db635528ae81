import { describe, expect, it } from 'vitest';
import {
  ConditionSet,
  getCondition,
  isReady,
  markNotReady,
  markReady,
  setAddress,
  setObservedGeneration,
} from './conditions.ts';
import { trigger } from './test-fixtures.ts';

const t0 = new Date('2024-05-01T10:00:00.123Z');
const t1 = new Date('2024-05-01T10:05:00Z');

describe('conditions', () => {
  it('sets Ready with reason, message and a lastTransitionTime that moves only on a status change', () => {
    const a = markNotReady(undefined, 'BrokerMissing', 'broker default/x not found', t0);
    expect(a.conditions).toEqual([
      {
        type: 'Ready',
        status: 'False',
        reason: 'BrokerMissing',
        message: 'broker default/x not found',
        lastTransitionTime: '2024-05-01T10:00:00Z',
      },
    ]);
    const b = markNotReady(a, 'BrokerMissing', 'still missing', t1);
    expect(getCondition(b, 'Ready')?.lastTransitionTime).toBe('2024-05-01T10:00:00Z');
    expect(getCondition(b, 'Ready')?.message).toBe('still missing');
    const c = markReady(b, undefined, undefined, t1);
    expect(getCondition(c, 'Ready')).toEqual({
      type: 'Ready',
      status: 'True',
      lastTransitionTime: '2024-05-01T10:05:00Z',
    });
    expect(a.conditions).toHaveLength(1);
    expect(getCondition(a, 'Ready')?.status).toBe('False');
  });

  it('sets observedGeneration and address.url', () => {
    const s = setAddress(setObservedGeneration(markReady(undefined), 3), 'http://127.0.0.1:8080/default/default');
    expect(s).toMatchObject({ observedGeneration: 3, address: { url: 'http://127.0.0.1:8080/default/default' } });
    expect(setAddress(s, undefined).address).toBeUndefined();
  });

  it('reports ready only for the current generation', () => {
    const obj = trigger('t');
    obj.metadata.generation = 2;
    obj.status = setObservedGeneration(markReady(undefined), 1);
    expect(isReady(obj)).toBe(false);
    obj.status = setObservedGeneration(obj.status, 2);
    expect(isReady(obj)).toBe(true);
  });

  it('derives Ready from dependents like Knative', () => {
    const set = new ConditionSet(['BrokerReady', 'SubscriberResolved']);
    let s = set.initialize(undefined, t0);
    expect(s.conditions?.map((c) => `${c.type}=${c.status}`)).toEqual([
      'BrokerReady=Unknown',
      'Ready=Unknown',
      'SubscriberResolved=Unknown',
    ]);
    s = set.markTrue(s, 'BrokerReady', t0);
    expect(getCondition(s, 'Ready')?.status).toBe('Unknown');
    s = set.markFalse(s, 'SubscriberResolved', 'Unresolved', 'function echo not found', t0);
    expect(getCondition(s, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'Unresolved',
      message: 'function echo not found',
    });
    s = set.markTrue(s, 'SubscriberResolved', t1);
    expect(getCondition(s, 'Ready')).toEqual({
      type: 'Ready',
      status: 'True',
      lastTransitionTime: '2024-05-01T10:05:00Z',
    });
  });
});
