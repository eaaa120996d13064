import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { makeTmpDir, removeTmpDir } from '../../../../test/support/tmp-dir';
import { cgroupCpuLimit, cpuBudget } from './cpu-budget';

describe('cpuBudget', () => {
  let root: string;
  beforeEach(() => (root = makeTmpDir('cgroup-')));
  afterEach(() => removeTmpDir(root));

  const file = (path: string, text: string) => {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), `${text}\n`);
  };

  it('cgroup v2: a quota of 150000 per 100000 µs is 1.5 CPUs, budget 1 (rounded down, at most the CPUs there are)', () => {
    file('cpu.max', '150000 100000');
    expect(cgroupCpuLimit(root)).toBe(1.5);
    expect(cpuBudget(root)).toBe(1);
  });

  it('cgroup v2 without a limit ("max") and no cgroup at all: the CPUs the process may run on', () => {
    expect(cpuBudget(root)).toBe(availableParallelism());
    file('cpu.max', 'max 100000');
    expect(cgroupCpuLimit(root)).toBeNull();
    expect(cpuBudget(root)).toBe(availableParallelism());
  });

  it('cgroup v1: cfs quota / period; a quota of -1 is no limit', () => {
    file('cpu/cpu.cfs_quota_us', '50000');
    file('cpu/cpu.cfs_period_us', '100000');
    expect(cgroupCpuLimit(root)).toBe(0.5);
    expect(cpuBudget(root)).toBe(1); // never below one
    file('cpu/cpu.cfs_quota_us', '-1');
    expect(cgroupCpuLimit(root)).toBeNull();
  });

  it('a limit above the CPUs there are does not raise the budget', () => {
    file('cpu.max', `${(availableParallelism() + 8) * 100000} 100000`);
    expect(cpuBudget(root)).toBe(availableParallelism());
  });
});
