import { describe, expect, it } from 'vitest';
import { getCondition, markNotReady, markReady } from './conditions.ts';

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
});
