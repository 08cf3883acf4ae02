#!/usr/bin/env node
/**
 * The second step of `npm run build`: bundles the compiled CLI (dist/src/cli.js) and the config
 * thread (dist/src/config/load-thread.js) into dist/app/, one flat directory of ES modules, with
 * the three pure-JavaScript libraries the start-up loads (commander, zod, yaml) inside. Then
 * dist/src/cli.js becomes a one-line module that imports dist/app/cli.js, so everything that runs
 * dist/src/cli.js (the installed wrapper, the unit, the tests, the benches) runs the bundle.
 *
 * Why: the module loader's cost is per module. The config thread loaded 180 modules (zod's
 * 50 locales among them) and the daemon 100 more; bundled, a `run` start takes about 0.1 s less
 * CPU and about 1 MiB less memory (docs/benchmarks.md, start-up). Verbs still load their own
 * modules when they run (each dynamic import is its own chunk), and every other package (ws,
 * the native addons, the decoders) stays outside, loaded from node_modules as before.
 *
 * dist/app/manifest.json lists, for each file, the source modules it holds, so a test can say
 * which modules a process loaded. The per-file build in dist/src stays as it was, for reading.
 * Where rolldown is missing or fails (a production-only install, a platform without its native
 * binding), the unbundled build stays and runs as before, with a warning; with
 * SPEAKER_AGENT_BUNDLE=required (scripts/test.sh, so CI) that fails the build instead.
 */
import { builtinModules } from 'node:module';
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const dist = path.join(root, 'dist');
const out = path.join(dist, 'app');
const cliFile = path.join(dist, 'src', 'cli.js');
/** Packages compiled into the bundle: pure JavaScript, loaded at start-up. */
const BUNDLED = /^(commander|zod|yaml)(\/|$)/;
const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);

let rolldown;
try {
  ({ rolldown } = await import('rolldown'));
} catch {
  if (process.env.SPEAKER_AGENT_BUNDLE === 'required') {
    process.stderr.write('bundle: rolldown is not installed (npm ci installs it)\n');
    process.exit(1);
  }
  process.stderr.write('bundle: rolldown is not installed; the unbundled build in dist/src runs as it is (a slower start)\n');
  process.exit(0);
}

if (readFileSync(cliFile, 'utf8').includes("import '../app/cli.js'")) {
  process.stderr.write('bundle: dist/src/cli.js is already the bundle\'s entry; run `npm run build` to build again\n');
  process.exit(1);
}
/** Bundles into dist/app; returns the manifest. */
async function build() {
  rmSync(out, { recursive: true, force: true });
  const bundle = await rolldown({
    input: { cli: cliFile, 'load-thread': path.join(dist, 'src', 'config', 'load-thread.js') },
    platform: 'node',
    external: (id) => builtins.has(id) || (!id.startsWith('.') && !path.isAbsolute(id) && !BUNDLED.test(id)),
    // Warnings fail the bundle: a bundle that differs from the modules it replaces must not ship.
    onLog(level, log) {
      if (level === 'warn') throw new Error(log.message);
    },
  });
  const { output } = await bundle.write({ dir: out, format: 'esm', entryFileNames: '[name].js', chunkFileNames: '[name]-[hash].js', comments: false });
  await bundle.close();
  const relative = (id) => path.relative(root, id).split(path.sep).join('/');
  return Object.fromEntries(output.filter((o) => o.type === 'chunk').map((c) => [c.fileName, c.moduleIds.filter((id) => path.isAbsolute(id)).map(relative)]));
}

let manifest;
try {
  manifest = await build();
} catch (err) {
  rmSync(out, { recursive: true, force: true });
  // The tests (scripts/test.sh) require the bundle; an install keeps the per-file build that works.
  const message = `bundle: bundling failed (${err instanceof Error ? err.message : String(err)})`;
  if (process.env.SPEAKER_AGENT_BUNDLE === 'required') {
    process.stderr.write(`${message}\n`);
    process.exit(1);
  }
  process.stderr.write(`${message}; the unbundled build in dist/src runs as it is (a slower start)\n`);
  process.exit(0);
}
writeFileSync(path.join(out, 'manifest.json'), JSON.stringify(manifest, null, 1) + '\n');

// The entry everything runs. The shebang stays, for npm's bin link.
const shebang = readFileSync(cliFile, 'utf8').startsWith('#!') ? '#!/usr/bin/env node\n' : '';
writeFileSync(cliFile, `${shebang}// Written by scripts/bundle.mjs: the CLI runs from the bundle in dist/app (see that script).\nimport '../app/cli.js';\n`);
chmodSync(cliFile, 0o755);
process.stdout.write(`bundle: ${Object.keys(manifest).length} files in dist/app, ${Object.values(manifest).reduce((n, m) => n + m.length, 0)} modules\n`);
