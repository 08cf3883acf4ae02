/** Small statistics helpers for benchmarks. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx]!;
}

export function summary(values: number[]): { n: number; p50: number; p95: number; max: number } {
  const r = (x: number) => Math.round(x * 1000) / 1000;
  return { n: values.length, p50: r(percentile(values, 50)), p95: r(percentile(values, 95)), max: r(Math.max(...values)) };
}

/** Resident set and used heap in MB, after a full GC when node runs with --expose-gc. */
export function rssMb(): { rss: number; heap: number; arrayBuffers: number } {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    gc();
    gc();
  }
  const m = process.memoryUsage();
  const mb = (x: number) => Math.round((x / 1024 / 1024) * 10) / 10;
  return { rss: mb(m.rss), heap: mb(m.heapUsed), arrayBuffers: mb(m.arrayBuffers) };
}
