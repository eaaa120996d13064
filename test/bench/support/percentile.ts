/**
 * The value at quantile `q` (0.5, 0.99, …) of ascending `sorted` values, by rank (the value
 * below which a fraction q of them lie; the largest for q near 1); 0 when there are none.
 */
export function percentile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}
