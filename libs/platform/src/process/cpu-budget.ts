import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';

/**
 * How many CPUs this process may keep busy: the CPUs it may run on (affinity), lowered to a
 * container's CPU limit when one is set (a Kubernetes `resources.limits.cpu`, `docker run
 * --cpus`). Node's own figures count the host's CPUs, not such a quota: threads sized on them
 * are throttled by the kernel instead of running faster. A fractional limit rounds down (1.5
 * CPUs: one), never below one.
 *
 * The limit is read from the cgroup mounted at `root` (the container's own, as container
 * runtimes mount it): cgroup v2 `cpu.max` ("<quota> <period>" or "max <period>"), else cgroup v1
 * `cpu/cpu.cfs_quota_us` and `cpu/cpu.cfs_period_us` (quota -1: none).
 */
export function cpuBudget(root = '/sys/fs/cgroup'): number {
  const cpus = availableParallelism();
  const limit = cgroupCpuLimit(root);
  return limit === null ? cpus : Math.max(1, Math.min(cpus, Math.floor(limit)));
}

/** The cgroup's CPU limit in CPUs (quota / period); null when there is none or none is found. */
export function cgroupCpuLimit(root: string): number | null {
  const v2 = read(join(root, 'cpu.max'));
  if (v2 !== null) {
    const [quota, period] = v2.split(/\s+/);
    return ratio(quota, period);
  }
  return ratio(
    read(join(root, 'cpu', 'cpu.cfs_quota_us')),
    read(join(root, 'cpu', 'cpu.cfs_period_us')),
  );
}

function ratio(quota: string | null | undefined, period: string | null | undefined): number | null {
  const q = Number(quota);
  const p = Number(period);
  // "max", -1 or anything unreadable: no limit.
  if (!Number.isFinite(q) || !Number.isFinite(p) || q <= 0 || p <= 0) return null;
  return q / p;
}

function read(file: string): string | null {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return null;
  }
}
