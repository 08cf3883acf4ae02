#!/usr/bin/env node
// Lists every log event the agent can write, from the source: `node scripts/log-events.mjs`
// prints docs/log-events.md (test/log/events.test.ts checks that the file is up to date and
// that every name is kebab-case). One place to look for what `journalctl ... | grep` can find.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const CALL = /\.(debug|info|warn|error)\(\s*(['"`])([^'"`$]+)\2/g;

export function collect() {
  const byEvent = new Map();
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      const p = path.join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.ts')) {
        const text = readFileSync(p, 'utf8');
        for (const m of text.matchAll(CALL)) {
          const rel = path.relative(root, p);
          const e = byEvent.get(m[3]) ?? { levels: new Set(), files: new Set() };
          e.levels.add(m[1]);
          e.files.add(rel);
          byEvent.set(m[3], e);
        }
      }
    }
  };
  walk(path.join(root, 'src'));
  return byEvent;
}

export function render(byEvent) {
  const lines = [
    '# Log events',
    '',
    'Every event the agent logs, with its levels and where it is written. Each log line is one',
    'JSON object with `level`, `ns` (the component), `event` and the event\'s fields, so',
    '`journalctl -u speaker-agent -o cat | grep \'"event":"mic-error"\'` finds one kind.',
    'This page is generated from the source: `node scripts/log-events.mjs > docs/log-events.md`.',
    '',
    '| event | levels | written in |',
    '|---|---|---|',
  ];
  for (const name of [...byEvent.keys()].sort()) {
    const e = byEvent.get(name);
    lines.push(`| \`${name}\` | ${[...e.levels].sort().join(', ')} | ${[...e.files].sort().map((f) => `\`${f}\``).join(', ')} |`);
  }
  return lines.join('\n') + '\n';
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  process.stdout.write(render(collect()));
}
