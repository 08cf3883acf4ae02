/**
 * A real MQTT broker for tests: Debian's mosquitto on a free loopback port, with a temporary
 * config (anonymous, or a password file made by mosquitto_passwd, optionally TLS with a CA made
 * by openssl), no persistence. `restart()` brings it back on the same port, with nothing
 * retained (as a broker without persistence does after a restart).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const MOSQUITTO = '/usr/sbin/mosquitto';

export interface BrokerOptions {
  /** Users and passwords; anonymous clients are refused when set. */
  users?: { user: string; password: string }[];
  /** A TLS listener with a fresh CA; `ca` is then the CA file to trust. */
  tls?: boolean;
  /** Seconds between $SYS statistics updates (default: mosquitto's 10). */
  sysInterval?: number;
  /** Lines added to the config. */
  extra?: string[];
}

export interface Broker {
  port: number;
  url: string;
  dir: string;
  /** PEM file of the CA that signed the broker's certificate (with `tls`). */
  ca?: string;
  pid(): number | undefined;
  /** The broker's own log so far. */
  log(): string;
  stop(): Promise<void>;
  start(): Promise<void>;
  restart(): Promise<void>;
  /** Stops the broker and removes its directory. */
  close(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function makeCerts(dir: string): { ca: string; cert: string; key: string } {
  const f = (n: string) => path.join(dir, n);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  execFileSync('openssl', ['req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '2', '-subj', '/CN=speaker-agent test CA'], { stdio: 'ignore' });
  execFileSync('openssl', ['req', ...ec, '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=localhost'], { stdio: 'ignore' });
  writeFileSync(f('san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  execFileSync('openssl', ['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('server.pem'), '-days', '2', '-extfile', f('san.ext')], { stdio: 'ignore' });
  return { ca: f('ca.pem'), cert: f('server.pem'), key: f('server.key') };
}

export async function startBroker(opts: BrokerOptions = {}): Promise<Broker> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sa-mosquitto-'));
  const port = await freePort();
  const lines = [`listener ${port} 127.0.0.1`, 'persistence false', 'log_dest stderr', 'log_type error', 'log_type warning', 'log_type notice', 'log_type information'];
  // As root, mosquitto would switch to the `mosquitto` user, who cannot read this directory.
  lines.push(`user ${os.userInfo().username}`);
  if (opts.users?.length) {
    const file = path.join(dir, 'passwd');
    writeFileSync(file, '');
    for (const u of opts.users) execFileSync('mosquitto_passwd', ['-b', file, u.user, u.password], { stdio: 'ignore' });
    lines.push('allow_anonymous false', `password_file ${file}`);
  } else {
    lines.push('allow_anonymous true');
  }
  let ca: string | undefined;
  if (opts.tls) {
    const c = makeCerts(dir);
    ca = c.ca;
    lines.push(`cafile ${c.ca}`, `certfile ${c.cert}`, `keyfile ${c.key}`);
  }
  if (opts.sysInterval) lines.push(`sys_interval ${opts.sysInterval}`);
  lines.push(...(opts.extra ?? []));
  const conf = path.join(dir, 'mosquitto.conf');
  writeFileSync(conf, lines.join('\n') + '\n');

  let child: ChildProcess | undefined;
  let log = '';
  const start = async () => {
    if (child) return;
    const c = spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    child = c;
    c.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    c.once('exit', () => {
      if (child === c) child = undefined;
    });
    const t0 = Date.now();
    while (!(await canConnect(port))) {
      if (!child) throw new Error(`mosquitto exited at start:\n${log}`);
      if (Date.now() - t0 > 5000) throw new Error(`mosquitto did not listen on ${port} within 5 s:\n${log}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const stop = async () => {
    const c = child;
    if (!c) return;
    const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    c.kill('SIGTERM');
    const killer = setTimeout(() => c.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(killer);
    child = undefined;
  };
  await start();
  return {
    port,
    url: `${opts.tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${port}`,
    dir,
    ...(ca ? { ca } : {}),
    pid: () => child?.pid,
    log: () => log,
    stop,
    start,
    async restart() {
      await stop();
      await start();
    },
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
