/** The calibration script's logistic regression (./recognition-calibrate.ts). */

/** Logistic regression (Newton's method, L2 0.01 on standardised inputs); returns the scorer. */
export function fit(xs: number[][], ys: number[]): (x: number[]) => number {
  const d = xs[0]!.length;
  const mean = Array.from({ length: d }, (_, j) => xs.reduce((a, x) => a + x[j]!, 0) / xs.length);
  const sd = Array.from({ length: d }, (_, j) => Math.sqrt(xs.reduce((a, x) => a + (x[j]! - mean[j]!) ** 2, 0) / xs.length) || 1);
  const z = xs.map((x) => [1, ...x.map((v, j) => (v - mean[j]!) / sd[j]!)]);
  const n = d + 1;
  const w = new Array<number>(n).fill(0);
  const l2 = 0.01 * z.length;
  for (let it = 0; it < 30; it++) {
    const g = new Array<number>(n).fill(0);
    const h = Array.from({ length: n }, () => new Array<number>(n).fill(0));
    for (let i = 0; i < z.length; i++) {
      const p = 1 / (1 + Math.exp(-z[i]!.reduce((a, v, j) => a + v * w[j]!, 0)));
      for (let j = 0; j < n; j++) {
        g[j]! += (p - ys[i]!) * z[i]![j]!;
        for (let k = 0; k < n; k++) h[j]![k]! += p * (1 - p) * z[i]![j]! * z[i]![k]!;
      }
    }
    for (let j = 1; j < n; j++) {
      g[j]! += l2 * w[j]!;
      h[j]![j]! += l2;
    }
    const step = solve(h, g);
    for (let j = 0; j < n; j++) w[j]! -= step[j]!;
  }
  return (x) => w[0]! + x.reduce((a, v, j) => a + ((v - mean[j]!) / sd[j]!) * w[j + 1]!, 0);
}

/** Solves a x = b by Gaussian elimination with partial pivoting. */
function solve(a: number[][], b: number[]): number[] {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]!]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r]![c]!) > Math.abs(m[p]![c]!)) p = r;
    [m[c], m[p]] = [m[p]!, m[c]!];
    for (let r = c + 1; r < n; r++) {
      const f = m[r]![c]! / m[c]![c]!;
      for (let k = c; k <= n; k++) m[r]![k]! -= f * m[c]![k]!;
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) x[r] = (m[r]![n]! - m[r]!.slice(r + 1, n).reduce((acc, v, k) => acc + v * x[r + 1 + k]!, 0)) / m[r]![r]!;
  return x;
}
