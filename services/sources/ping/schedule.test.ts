import { describe, expect, it } from 'vitest';
import { ElasticServingError } from '../../core/errors.ts';
import { checkSchedule, nextRuns, parseSchedule, splitTimezonePrefix } from './schedule.ts';

const from = new Date('2024-03-09T23:59:30Z');
const iso = (dates: Date[]) => dates.map((d) => d.toISOString());
const problem = (schedule: string, tz?: string) => {
  const r = checkSchedule(schedule, tz);
  return r.ok ? undefined : r.problem;
};

describe('parseSchedule', () => {
  it('reads 5 fields at minute precision and 6 fields with seconds first', () => {
    expect(parseSchedule('*/15 * * * *')).toEqual({ pattern: '*/15 * * * *', fields: 5, timezone: 'UTC' });
    expect(parseSchedule('*/10 * * * * *').fields).toBe(6);
    expect(iso(nextRuns('*/15 * * * *', undefined, from, 2))).toEqual([
      '2024-03-10T00:00:00.000Z',
      '2024-03-10T00:15:00.000Z',
    ]);
    expect(iso(nextRuns('*/10 * * * * *', undefined, from, 3))).toEqual([
      '2024-03-09T23:59:40.000Z',
      '2024-03-09T23:59:50.000Z',
      '2024-03-10T00:00:00.000Z',
    ]);
  });

  it('defaults an empty schedule to every minute, as Knative does', () => {
    expect(parseSchedule('').pattern).toBe('* * * * *');
  });

  it('reads the expression in spec.timezone', () => {
    // 09:00 in New York on 2024-03-11 is after the DST switch (EDT, UTC-4); on 2024-03-09 it is EST (UTC-5).
    expect(iso(nextRuns('0 9 * * *', 'America/New_York', new Date('2024-03-09T00:00:00Z'), 3))).toEqual([
      '2024-03-09T14:00:00.000Z',
      '2024-03-10T13:00:00.000Z',
      '2024-03-11T13:00:00.000Z',
    ]);
  });

  it('reads a CRON_TZ= (or TZ=) prefix like spec.timezone', () => {
    expect(splitTimezonePrefix('CRON_TZ=Asia/Tokyo 0 9 * * *')).toEqual({
      pattern: '0 9 * * *',
      timezone: 'Asia/Tokyo',
    });
    expect(parseSchedule('CRON_TZ=Asia/Tokyo 0 9 * * *').timezone).toBe('Asia/Tokyo');
    expect(iso(nextRuns('CRON_TZ=Asia/Tokyo 0 9 * * *', undefined, from, 1))).toEqual(['2024-03-10T00:00:00.000Z']);
    expect(iso(nextRuns('TZ=Asia/Tokyo 0 9 * * *', undefined, from, 1))).toEqual(['2024-03-10T00:00:00.000Z']);
    expect(parseSchedule('CRON_TZ=Asia/Tokyo 0 9 * * *', 'Asia/Tokyo').timezone).toBe('Asia/Tokyo');
  });

  it('throws ES_ERR_INVALID_RESOURCE naming the bad field', () => {
    try {
      parseSchedule('0 0 32 * *');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ElasticServingError);
      expect((err as ElasticServingError).code).toBe('ES_ERR_INVALID_RESOURCE');
      expect((err as Error).message).toMatch(/^schedule: invalid day-of-month field "32"/);
    }
  });

  it.each([
    ['60 * * * *', /invalid minute field "60"/],
    ['* 24 * * *', /invalid hour field "24"/],
    ['* * * 13 *', /invalid month field "13"/],
    ['* * * * FUNDAY', /invalid day-of-week field "FUNDAY"/],
    ['61 * * * * *', /invalid second field "61"/],
    ['*/0 * * * *', /invalid minute field/],
    ['* * * *', /expected 5 fields \(or 6 with seconds first\), got 4/],
    ['* * * * * * *', /got 7/],
    ['@every 5m', /unsupported descriptor @every/],
    ['@sometimes', /unknown descriptor/],
  ])('rejects %j', (schedule, message) => {
    const p = problem(schedule);
    expect(p?.field).toBe('schedule');
    expect(p?.message).toMatch(message);
  });

  it('blames timezone for a bad spec.timezone and schedule for a bad or conflicting prefix', () => {
    expect(problem('* * * * *', 'Mars/Olympus')).toEqual({
      field: 'timezone',
      message: expect.stringMatching(/unknown time zone "Mars\/Olympus"/),
    });
    expect(problem('CRON_TZ=Mars/Olympus * * * * *')?.message).toMatch(
      /unknown time zone "Mars\/Olympus" in the CRON_TZ= prefix/,
    );
    expect(problem('CRON_TZ=Asia/Tokyo * * * * *', 'Europe/Paris')?.message).toMatch(/conflicts with timezone/);
    expect(problem('CRON_TZ=Asia/Tokyo')?.message).toMatch(/empty cron expression/);
  });
});
