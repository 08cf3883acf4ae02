import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ts from 'typescript';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { memoryLogger } from '../../src/log/logger.js';
import { execTransport, type NotifyTransport } from '../../src/system/notify-transport.js';
import { createSystemdNotifier, watchdogIntervalMs, type WatchdogTimers } from '../../src/system/sd-notify.js';
import { NotifyReceiver } from '../helpers/notify-socket.js';

/** Timers the test fires by hand: the interval asked for is recorded, ticks are explicit. */
function manualTimers(): WatchdogTimers & { ms: number[]; tick: () => void; cleared: number } {
  const fns: (() => void)[] = [];
  const t = {
    ms: [] as number[],
    cleared: 0,
    setInterval(fn: () => void, ms: number) {
      fns.push(fn);
      t.ms.push(ms);
      return fns.length - 1;
    },
    clearInterval(handle: unknown) {
      fns[handle as number] = () => {};
      t.cleared++;
    },
    tick() {
      for (const fn of fns) fn();
    },
  };
  return t;
}

describe('watchdogIntervalMs', () => {
  it('is half of WATCHDOG_USEC in milliseconds', () => {
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '30000000' }, 1)).toBe(15_000);
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '42' }, 42)).toBe(15_000);
  });
  it('is 0 when unset, invalid, or meant for another process', () => {
    expect(watchdogIntervalMs({}, 1)).toBe(0);
    expect(watchdogIntervalMs({ WATCHDOG_USEC: 'soon' }, 1)).toBe(0);
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '0' }, 1)).toBe(0);
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '41' }, 42)).toBe(0);
  });
});

describe('createSystemdNotifier without NOTIFY_SOCKET', () => {
  it('is a no-op that never touches the transport or timers', async () => {
    const sent: string[][] = [];
    const timers = manualTimers();
    const n = createSystemdNotifier({
      env: { WATCHDOG_USEC: '1000000' },
      log: memoryLogger().logger,
      transport: { send: async (a) => void sent.push(a) },
      timers,
    });
    expect(n.enabled).toBe(false);
    await n.ready('up');
    await n.status('x');
    await n.stopping();
    await n.close();
    expect(sent).toEqual([]);
    expect(timers.ms).toEqual([]);
  });
});

describe('createSystemdNotifier queueing', () => {
  it('sends in order, one at a time, and coalesces STATUS updates that wait', async () => {
    const sent: string[][] = [];
    let release: () => void = () => {};
    const transport: NotifyTransport = {
      send: (a) =>
        new Promise((resolve) => {
          sent.push(a);
          release = resolve;
        }),
    };
    const n = createSystemdNotifier({ env: { NOTIFY_SOCKET: '/x' }, log: memoryLogger().logger, transport });
    const p1 = n.ready('starting');
    const p2 = n.status('one');
    const p3 = n.status('two');
    const p4 = n.status('three');
    expect(sent).toEqual([['READY=1', 'STATUS=starting']]);
    release();
    await p1;
    await Promise.resolve();
    expect(sent[1]).toEqual(['STATUS=three']);
    release();
    await Promise.all([p2, p3, p4]);
    expect(sent).toHaveLength(2);
  });

  it('never folds a new STATUS into one already being delivered', async () => {
    const sent: string[][] = [];
    const releases: (() => void)[] = [];
    const transport: NotifyTransport = { send: (a) => new Promise((resolve) => (sent.push(a), releases.push(resolve))) };
    const n = createSystemdNotifier({ env: { NOTIFY_SOCKET: '/x' }, log: memoryLogger().logger, transport });
    const p1 = n.status('a');
    const p2 = n.status('b');
    releases.shift()!();
    await p1;
    await Promise.resolve();
    releases.shift()!();
    await p2;
    expect(sent).toEqual([['STATUS=a'], ['STATUS=b']]);
  });

  it('close() twice: both wait until STOPPING was delivered', async () => {
    const sent: string[][] = [];
    let release: () => void = () => {};
    const transport: NotifyTransport = { send: (a) => new Promise((resolve) => (sent.push(a), (release = resolve))) };
    const n = createSystemdNotifier({ env: { NOTIFY_SOCKET: '/x' }, log: memoryLogger().logger, transport });
    void n.stopping('bye');
    let done = 0;
    const a = n.close().then(() => done++);
    const b = n.close().then(() => done++);
    await Promise.resolve();
    expect(done).toBe(0);
    release();
    await Promise.all([a, b]);
    expect(done).toBe(2);
    expect(sent).toEqual([['STOPPING=1', 'STATUS=bye']]);
  });

  it('logs a failing transport once per cause and keeps going', async () => {
    const mem = memoryLogger();
    const n = createSystemdNotifier({
      env: { NOTIFY_SOCKET: '/x' },
      log: mem.logger,
      transport: execTransport({ env: { NOTIFY_SOCKET: '/x' }, command: '/nonexistent/systemd-notify' }),
    });
    await n.ready('a');
    await n.status('b');
    const warns = mem.lines().filter((l) => l.event === 'notify-failed');
    expect(warns).toHaveLength(1);
    expect(String(warns[0]!.message)).toMatch(/not found \(install the systemd package\)/);
  });
});

describe('createSystemdNotifier against a real NOTIFY_SOCKET', () => {
  let dir: string;
  let receiver: NotifyReceiver;

  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'sd-notify-'));
    receiver = await NotifyReceiver.start(path.join(dir, 'notify.sock'));
  });
  afterEach(() => {
    receiver.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends READY with status, STATUS, WATCHDOG only while healthy, then STOPPING', async () => {
    let healthy = true;
    const timers = manualTimers();
    const env = { ...process.env, NOTIFY_SOCKET: receiver.path, WATCHDOG_USEC: '8000000', WATCHDOG_PID: '4242' };
    const mem = memoryLogger();
    const n = createSystemdNotifier({ env, log: mem.logger, timers, pid: 4242, healthy: () => healthy });
    expect(n.enabled).toBe(true);
    expect(n.watchdogIntervalMs).toBe(4000);
    expect(timers.ms).toEqual([4000]);

    await n.ready('idle: waiting for wake word');
    expect((await receiver.next((m) => m.startsWith('READY=1'))).message).toBe('READY=1\nSTATUS=idle: waiting for wake word');

    timers.tick();
    await receiver.next((m) => m === 'WATCHDOG=1');

    healthy = false;
    timers.tick();
    timers.tick();
    await n.status('listening\nnow');
    await receiver.next((m) => m.startsWith('STATUS='));
    expect(mem.lines().filter((l) => l.event === 'watchdog-withheld')).toHaveLength(1);

    healthy = true;
    timers.tick();
    await n.stopping('shutting down');
    await n.close();
    await receiver.next((m) => m.startsWith('STOPPING=1'));
    expect(timers.cleared).toBe(1);
    timers.tick(); // cleared: nothing more is sent
    await n.status('after close');

    expect(receiver.payloads()).toEqual([
      'READY=1\nSTATUS=idle: waiting for wake word',
      'WATCHDOG=1',
      'STATUS=listening now',
      'WATCHDOG=1',
      'STOPPING=1\nSTATUS=shutting down',
    ]);
    // Every message went through systemd-notify's barrier, as under real systemd.
    expect(receiver.messages.filter((m) => m.message === 'BARRIER=1').every((m) => m.fds === 1)).toBe(true);
  });

  it('a real process: READY after start-up, WATCHDOG on its own timer, STOPPING on SIGTERM', async () => {
    // Transpile the notifier (and its imports) so a plain `node` child can load it.
    const out = path.join(dir, 'js');
    for (const rel of ['src/system/sd-notify.ts', 'src/system/notify-transport.ts', 'src/log/logger.ts', 'src/util/bounded.ts']) {
      const src = readFileSync(path.join(import.meta.dirname, '..', '..', rel), 'utf8');
      const js = ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
      mkdirSync(path.dirname(path.join(out, rel)), { recursive: true });
      writeFileSync(path.join(out, rel).replace(/\.ts$/, '.js'), js);
    }
    writeFileSync(path.join(out, 'package.json'), '{"type":"module"}');
    writeFileSync(
      path.join(out, 'main.js'),
      `import { createSystemdNotifier } from './src/system/sd-notify.js';
       import { Logger } from './src/log/logger.js';
       const n = createSystemdNotifier({ env: process.env, log: new Logger({ level: 'warn' }) });
       const keepAlive = setInterval(() => {}, 1000);
       process.once('SIGTERM', async () => {
         await n.stopping('stopping: SIGTERM');
         await n.close();
         clearInterval(keepAlive);
       });
       await n.ready('ready');`,
    );
    const child = spawn(process.execPath, [path.join(out, 'main.js')], {
      env: { ...process.env, NOTIFY_SOCKET: receiver.path, WATCHDOG_USEC: '100000' },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));

    await receiver.next((m) => m === 'READY=1\nSTATUS=ready');
    await receiver.next((m) => m === 'WATCHDOG=1');
    await receiver.next((m) => m === 'WATCHDOG=1');
    child.kill('SIGTERM');
    await receiver.next((m) => m === 'STOPPING=1\nSTATUS=stopping: SIGTERM');
    expect(await exited).toBe(0);
    // READY came first; STOPPING was the last thing the process said.
    const payloads = receiver.payloads();
    expect(payloads[0]).toBe('READY=1\nSTATUS=ready');
    expect(payloads[payloads.length - 1]).toBe('STOPPING=1\nSTATUS=stopping: SIGTERM');
  });
});
