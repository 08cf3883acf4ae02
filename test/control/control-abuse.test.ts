/**
 * The control socket under abuse and misuse (issue 12, points 9-12): clients that never read,
 * floods, a second agent on the same socket, stale and foreign files at the path, the shared
 * temp directory, and the CLI finding the installed service's socket.
 */
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { locate } from '../../src/cli/common.js';
import { request } from '../../src/control/client.js';
import { ControlServer } from '../../src/control/server.js';
import { fallbackSocketDir, prepareSocketDir } from '../../src/control/socket-dir.js';
import { memoryLogger } from '../../src/log/logger.js';
import { startHarness, waitFor, type Harness } from '../support/harness.js';

let h: Harness | undefined;
const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
  await h?.close();
  h = undefined;
});

function tmp(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'sa-ctl-'));
  cleanup.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

async function extraServer(h: Harness, socketPath: string, limits: ConstructorParameters<typeof ControlServer>[4]) {
  const mem = memoryLogger();
  const server = new ControlServer(socketPath, h.agent.session, mem.logger, {}, limits);
  await server.start();
  cleanup.push(() => server.stop());
  return { server, mem };
}

function rawClient(socketPath: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const c = net.connect(socketPath);
    c.once('connect', () => resolve(c));
    c.once('error', reject);
    cleanup.push(() => void c.destroy());
  });
}

describe('backpressure', () => {
  it('a client that pipelines commands and never reads is not read from: the agent stops taking its requests', async () => {
    h = await startHarness();
    const p = path.join(h.dir, 'bp.sock');
    await extraServer(h, p, { maxBufferedBytes: 64 * 1024 });
    const c = await rawClient(p);
    c.pause(); // never reads its replies
    const line = JSON.stringify({ cmd: 'status' }) + '\n';
    const chunk = line.repeat(2000);
    for (let i = 0; i < 40; i++) c.write(chunk); // 80,000 requests, ~24 MB of replies
    await new Promise((r) => setTimeout(r, 1500));
    // The agent paused reading: the requests back up on the client's side, not in the agent.
    expect(c.writableLength).toBeGreaterThan(0);
    // And the agent still answers everyone else.
    expect(await request(p, { cmd: 'status' })).toMatchObject({ ok: true });
    // Once the client reads, it is served again.
    let replies = 0;
    c.setEncoding('utf8');
    c.on('data', (d: string) => (replies += d.split('\n').length - 1));
    c.resume();
    await waitFor(() => replies >= 80_000, 'every reply once the client reads', 30_000);
  }, 40_000);

  it('an events subscriber that never reads is disconnected with a log line; others keep their events', async () => {
    h = await startHarness();
    const p = path.join(h.dir, 'sub.sock');
    const { mem } = await extraServer(h, p, { maxBufferedBytes: 32 * 1024 });
    const slow = await rawClient(p);
    slow.write(JSON.stringify({ cmd: 'events' }) + '\n');
    slow.pause();
    let closed = false;
    slow.on('close', () => (closed = true));
    await new Promise((r) => setTimeout(r, 100));
    for (let i = 0; i < 2000; i++) h.agent.session.setMuted(i % 2 === 0); // a state event each
    await waitFor(() => /subscriber-dropped/.test(mem.text()), 'the slow subscriber dropped');
    slow.resume();
    await waitFor(() => closed, 'the slow subscriber disconnected');
    expect((mem.text().match(/subscriber-dropped/g) ?? []).length).toBe(1);
  });

  it('connections over maxClients are refused with a reply; a slot frees when one closes', async () => {
    h = await startHarness();
    const p = path.join(h.dir, 'cap.sock');
    const { mem } = await extraServer(h, p, { maxClients: 3 });
    const held = await Promise.all([rawClient(p), rawClient(p), rawClient(p)]);
    await new Promise((r) => setTimeout(r, 50));
    expect(await request(p, { cmd: 'status' })).toMatchObject({ ok: false, reason: 'busy', error: expect.stringMatching(/too many control clients/) });
    expect(mem.text()).toMatch(/client-refused/);
    // A burst of refused clients each reads why (no reset on its write).
    const burst = await Promise.all(Array.from({ length: 50 }, () => request(p, { cmd: 'status' }).catch((e: Error) => ({ ok: 'error', error: e.message }))));
    expect(burst.filter((r) => (r as { reason?: string }).reason === 'busy')).toHaveLength(50);
    held[0]!.destroy();
    await new Promise((r) => setTimeout(r, 50));
    expect(await request(p, { cmd: 'status' })).toMatchObject({ ok: true });
  });

  it('a client that sends nothing is closed after idleMs', async () => {
    h = await startHarness();
    const p = path.join(h.dir, 'idle.sock');
    await extraServer(h, p, { idleMs: 200 });
    const c = await rawClient(p);
    let closed = false;
    c.on('close', () => (closed = true));
    await waitFor(() => closed, 'the idle client closed', 3000);
  });
});

describe('the socket file', () => {
  it('a second agent on the same socket is refused and leaves the running one reachable', async () => {
    h = await startHarness();
    const second = new ControlServer(h.socket, h.agent.session, memoryLogger().logger);
    await expect(second.start()).rejects.toThrow(/is in use: is another speaker-agent running/);
    await second.stop(); // what `run` does after a failed start
    expect(existsSync(h.socket)).toBe(true);
    expect(await request(h.socket, { cmd: 'status' })).toMatchObject({ ok: true });
  });

  it('a stale socket (its agent was killed) is removed after a connect to it fails, and taken over', async () => {
    h = await startHarness();
    const p = path.join(h.dir, 'stale.sock');
    // A process that listens and is SIGKILLed leaves its socket file behind.
    const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(p)}, () => process.kill(process.pid, 'SIGKILL'))`]);
    await new Promise((r) => child.once('exit', r));
    expect(statSync(p).isSocket()).toBe(true);
    const { mem } = await extraServer(h, p, {});
    expect(mem.text()).toMatch(/stale-socket-removed/);
    expect(await request(p, { cmd: 'status' })).toMatchObject({ ok: true });
  });

  it('a regular file at the socket path is never deleted; the error names it', async () => {
    h = await startHarness();
    const p = path.join(h.dir, 'not-a-socket');
    writeFileSync(p, 'precious');
    const s = new ControlServer(p, h.agent.session, memoryLogger().logger);
    await expect(s.start()).rejects.toThrow(new RegExp(`control socket ${p}: a file that is not a socket is in the way`));
    expect(readFileSync(p, 'utf8')).toBe('precious');
  });

  it('a socket path under a regular file names that file', async () => {
    h = await startHarness();
    const file = path.join(h.dir, 'plain');
    writeFileSync(file, '');
    const s = new ControlServer(path.join(file, 'sub', 'control.sock'), h.agent.session, memoryLogger().logger);
    await expect(s.start()).rejects.toThrow(`${file} is a file, not a directory`);
  });
});

describe('the fallback socket directory', () => {
  it('is a private 0700 directory in the temp dir, not a name any user can take', () => {
    const dir = fallbackSocketDir(4242);
    rmSync(dir, { recursive: true, force: true });
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    // Taken by another user (here root, for a process of uid 4242): refused.
    mkdirSync(dir, { mode: 0o777 });
    expect(() => prepareSocketDir(path.join(dir, 'control.sock'), 4242)).toThrow(/belongs to uid 0, not to this user \(uid 4242\).*refusing to start/);
    // Ours but too open: made private.
    const mine = fallbackSocketDir(process.getuid!());
    const existed = existsSync(mine);
    if (!existed) cleanup.push(() => rmSync(mine, { recursive: true, force: true }));
    mkdirSync(mine, { recursive: true });
    chmodSync(mine, 0o755);
    prepareSocketDir(path.join(mine, 'control.sock'));
    expect(statSync(mine).mode & 0o777).toBe(0o700);
  });

  it('a socket directly in a directory every user can write to is refused', () => {
    const d = tmp();
    const open = path.join(d, 'open');
    mkdirSync(open);
    chmodSync(open, 0o1777);
    expect(() => prepareSocketDir(path.join(open, 'x.sock'))).toThrow(/writable by every user.*refusing to start/);
  });

  it('the default socket without a runtime directory is in that private directory', async () => {
    const { defaultControlSocket } = await import('../../src/config/load.js');
    expect(defaultControlSocket({})).toBe(path.join(fallbackSocketDir(), 'control.sock'));
  });
});

describe('the CLI finds the installed agent', () => {
  const installed = { config: '/nonexistent/etc/config.yaml', controlSocket: '/nonexistent/run/control.sock' };

  it('bare verbs use the installed service socket when this user has none', () => {
    const exists = (p: string) => p === installed.controlSocket;
    expect(locate({}, {}, installed, exists).controlSocket()).toBe(installed.controlSocket);
  });

  it('this user\'s own socket wins when something is there; then the installed one; then the default', () => {
    const mine = path.join(fallbackSocketDir(), 'control.sock');
    expect(locate({}, {}, installed, (p) => p === mine || p === installed.controlSocket).controlSocket()).toBe(mine);
    expect(locate({}, {}, installed, () => false).controlSocket()).toBe(mine);
  });

  it('a user outside the service group, who cannot see into /etc/speaker-agent or /run/speaker-agent, is aimed at the service', () => {
    const d = tmp();
    const etc = path.join(d, 'etc');
    mkdirSync(etc);
    const shut = { config: path.join(etc, 'config.yaml'), controlSocket: path.join(d, 'run', 'control.sock') };
    // Only the directories can be seen; the config file cannot be read.
    const exists = (p: string) => p === etc || p === path.dirname(shut.controlSocket);
    const where = locate({}, {}, shut, exists);
    expect(where).toMatchObject({ configFile: shut.config, configSource: 'installed' });
    expect(where.controlSocket()).toBe(shut.controlSocket);
    // A config named by the user that cannot be read is still an error.
    expect(() => locate({ config: path.join(d, 'nope.yaml') }, {}, shut, exists).controlSocket()).toThrow();
  });

  it('the installed config is read when nothing is given (its control.socket wins)', () => {
    const d = tmp();
    const cfg = path.join(d, 'config.yaml');
    writeFileSync(cfg, `control:\n  socket: ${path.join(d, 'custom.sock')}\n`);
    const where = locate({}, {}, { ...installed, config: cfg }, (p) => p === cfg);
    expect(where).toMatchObject({ configFile: cfg, configSource: 'installed' });
    expect(where.controlSocket()).toBe(path.join(d, 'custom.sock'));
  });

  it('--control, $SPEAKER_AGENT_CONTROL, --config and $SPEAKER_AGENT_CONFIG come first', () => {
    const all = () => true;
    expect(locate({ control: '/a.sock' }, { SPEAKER_AGENT_CONTROL: '/b.sock' }, installed, all).controlSocket()).toBe('/a.sock');
    expect(locate({}, { SPEAKER_AGENT_CONTROL: '/b.sock' }, installed, all).controlSocket()).toBe('/b.sock');
    expect(locate({ config: '/c.yaml' }, { SPEAKER_AGENT_CONFIG: '/d.yaml' }, installed, all)).toMatchObject({ configFile: '/c.yaml', configSource: 'flag' });
    expect(locate({}, { SPEAKER_AGENT_CONFIG: '/d.yaml' }, installed, all)).toMatchObject({ configFile: '/d.yaml', configSource: 'env' });
  });

  it('`speaker-agent status` with nothing given reaches an agent on the default socket', async () => {
    const runtime = tmp();
    h = await startHarness();
    await extraServer(h, path.join(runtime, 'speaker-agent.sock'), {});
    const { stdout: out } = await promisify(execFile)(process.execPath, [path.resolve('dist/src/cli.js'), 'status', '--json'], {
      env: { PATH: process.env.PATH, XDG_RUNTIME_DIR: runtime },
      encoding: 'utf8',
    });
    expect(JSON.parse(out)).toMatchObject({ phase: 'idle' });
  });
});
