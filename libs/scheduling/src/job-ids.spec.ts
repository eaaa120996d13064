import {
  dueMsOfJobId,
  purgeJobId,
  purgeNoticeJobId,
  subscriptionIdsOfJobId,
  termEndJobId,
} from './job-ids';

describe('lifecycle job ids', () => {
  const due = Date.parse('2026-02-27T23:00:00.000Z');

  it('are deterministic: term-end-<sub>-<epochMs> and purge-<sub>-<epochMs>, without ":"', () => {
    expect(termEndJobId('sub_1', due)).toBe('term-end-sub_1-1772233200000');
    expect(purgeJobId('sub_1', due)).toBe('purge-sub_1-1772233200000');
    expect(termEndJobId('sub_1', due)).toBe(termEndJobId('sub_1', due));
    expect(termEndJobId('sub_1', due)).not.toMatch(/:/);
    expect(termEndJobId('sub_1', due)).not.toMatch(/^\d+$/);
  });

  it('carry their due time, read back exactly', () => {
    expect(dueMsOfJobId(purgeJobId('sub_a-b_c', due))).toBe(due);
    expect(dueMsOfJobId('not-a-job')).toBeNull();
  });

  it('encode a subscription id with characters BullMQ refuses, without colliding', () => {
    const odd = termEndJobId('sub:1', due);
    expect(odd).not.toMatch(/:/);
    expect(odd).not.toBe(termEndJobId('sub_1', due));
    expect(odd).not.toBe(termEndJobId('sub:2', due));
  });

  it('refuse a due time that is not whole epoch milliseconds', () => {
    expect(() => termEndJobId('sub_1', Number.NaN)).toThrow(TypeError);
    expect(() => termEndJobId('sub_1', 1.5)).toThrow(TypeError);
  });
});

describe('subscriptionIdsOfJobId', () => {
  it('scheduling at scale: reads the subscription back out of every kind of job id', () => {
    expect(subscriptionIdsOfJobId(termEndJobId('sub_1-a', 1000))).toEqual(['sub_1-a']);
    expect(subscriptionIdsOfJobId(purgeJobId('sub_2', 2000))).toEqual(['sub_2']);
    expect(subscriptionIdsOfJobId(purgeNoticeJobId('sub-3', 7, 3000))).toEqual(['sub-3']);
    expect(subscriptionIdsOfJobId(termEndJobId('a b', 1000))).toEqual([
      `x${Buffer.from('a b').toString('base64url')}`,
      'a b',
    ]);
    expect(subscriptionIdsOfJobId('something-else')).toEqual([]);
  });
});
