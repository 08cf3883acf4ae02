/**
 * Stand-ins for the libgpiod tools (`gpiodetect`, `gpiomon`, `gpioset`): small Node programs
 * with the real tools' arguments, output formats and exit behaviour, which log how they were
 * called. Real child processes, so spawning, killing and stderr handling run for real. The
 * environment variables of `fake()` script them (FAKE_CHIPS, FAKE_EDGES, FAKE_BUSY, ...).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Exec, Spawn } from '../../src/drivers/gpio/gpiod-lines.js';

export interface FakeGpiodTools {
  spawn: Spawn;
  exec: Exec;
  children: ChildProcess[];
  /** What the tools logged, one line per call or release. */
  log: () => string[];
}

export interface GpiodToolbox {
  dir: string;
  /** Tools scripted by `vars` (FAKE_VERSION 2.1 and one RP1 chip unless given). */
  fake(vars: Record<string, string>): FakeGpiodTools;
  /** Deletes the tools' directory. */
  remove(): void;
}

const TOOLS: Record<string, string> = {
  gpiodetect: `if (process.argv.includes('--version')) { console.log('gpiodetect (libgpiod) v' + process.env.FAKE_VERSION + '\\nCopyright (C) 2017-2023 Bartosz Golaszewski'); process.exit(0); }
if (process.env.FAKE_DENIED) { console.error('gpiodetect: unable to open chip /dev/gpiochip0: Permission denied'); process.exit(1); }
console.log(process.env.FAKE_CHIPS.split(',').join('\\n'));`,
  gpiomon: `log('gpiomon ' + process.argv.slice(2).join(' '));
for (const e of (process.env.FAKE_EDGES || '').split(',').filter(Boolean)) process.stdout.write(e + '\\n');
if (process.env.FAKE_BUSY) { console.error('gpiomon: unable to request lines on chip /dev/gpiochip0: Device or resource busy'); process.exit(1); }
process.on('SIGTERM', () => process.exit(0));
setInterval(() => {}, 1000);`,
  gpioset: `const args = process.argv.slice(2).join(' ');
if (process.env.FAKE_BUSY) { console.error('gpioset: unable to request lines on chip /dev/gpiochip0: Device or resource busy'); process.exit(1); }
// The handler first: a SIGTERM right after the hold is logged must log the release (the real
// tool releases the line whenever it is stopped).
process.on('SIGTERM', () => { log('release ' + args); process.exit(0); });
log('hold ' + args);
setInterval(() => {}, 1000);`,
};

/** Writes the stand-in tools into a fresh temporary directory. */
export function installGpiodTools(): GpiodToolbox {
  const dir = mkdtempSync(path.join(tmpdir(), 'gpiod-fake-'));
  for (const [name, body] of Object.entries(TOOLS)) {
    const file = path.join(dir, name);
    writeFileSync(file, `#!/usr/bin/env node\nconst fs = require('fs');\nconst log = (s) => fs.appendFileSync(process.env.FAKE_LOG, s + '\\n');\n${body}\n`);
    chmodSync(file, 0o755);
  }
  return {
    dir,
    remove: () => rmSync(dir, { recursive: true, force: true }),
    fake(vars) {
      const logFile = path.join(dir, `log-${Math.random().toString(36).slice(2)}`);
      writeFileSync(logFile, '');
      const env = { ...process.env, FAKE_LOG: logFile, FAKE_VERSION: '2.1', FAKE_CHIPS: 'gpiochip0 [pinctrl-rp1] (54 lines)', ...vars };
      const children: ChildProcess[] = [];
      return {
        children,
        spawn: (cmd, args, options) => {
          const child = spawn(path.join(dir, cmd), [...args], { ...options, env });
          children.push(child);
          return child;
        },
        exec: (cmd, args) =>
          new Promise((resolve, reject) =>
            execFile(path.join(dir, cmd), [...args], { env }, (err, stdout, stderr) => (err ? reject(Object.assign(err, { stderr })) : resolve(stdout))),
          ),
        log: () => readFileSync(logFile, 'utf8').split('\n').filter(Boolean),
      };
    },
  };
}
