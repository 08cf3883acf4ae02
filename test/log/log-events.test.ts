/** Log events: kebab-case everywhere, and all listed in docs/log-events.md (generated). */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ESM script without types
import { collect, render } from '../../scripts/log-events.mjs';

describe('log events', () => {
  const events = collect() as Map<string, unknown>;

  it('are named in kebab-case', () => {
    const bad = [...events.keys()].filter((n) => !/^[a-z0-9]+(-[a-z0-9]+)*$/.test(n));
    expect(bad).toEqual([]);
  });

  it('are all listed in docs/log-events.md (run node scripts/log-events.mjs > docs/log-events.md)', () => {
    expect(readFileSync('docs/log-events.md', 'utf8')).toBe(render(events));
  });
});
