import { ConfigError } from './config.error';
import { loadConfig } from './config.loader';

const load = (value?: string) =>
  loadConfig(value === undefined ? {} : { PURGE_NOTICE_DAYS: value }, { cwd: '/srv/app' });

describe('PURGE_NOTICE_DAYS (D7)', () => {
  it('defaults to 30 and 7 days (unset or blank)', () => {
    expect(load().purgeNoticeDays).toEqual([30, 7]);
    expect(load('  ').purgeNoticeDays).toEqual([30, 7]);
  });

  it('reads distinct whole days from 1 to 89, most first; none: no notices', () => {
    expect(load('60, 14,1').purgeNoticeDays).toEqual([60, 14, 1]);
    expect(load('89').purgeNoticeDays).toEqual([89]);
    expect(load('none').purgeNoticeDays).toEqual([]);
  });

  it.each(['7,30', '30,30', '0', '90', '30,7.5', '30;7', 'thirty', '-7', '30,,7'])(
    'refuses %j, naming the variable and the rule',
    (value) => {
      let caught: unknown;
      try {
        load(value);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(ConfigError);
      expect((caught as Error).message).toMatch(/PURGE_NOTICE_DAYS.*distinct whole numbers/);
    },
  );
});
