/**
 * Where bench results go: the source tree's bench/results, whether a bench runs from its
 * TypeScript source or from the benches' build (dist-bench/bench/, see tsconfig.bench.json).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout's root: the first folder up from this file that holds package.json. */
export function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`bench: no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
  return dir;
}

/** bench/results in the source tree. */
export function resultsDir(): string {
  return path.join(repoRoot(), 'bench', 'results');
}
