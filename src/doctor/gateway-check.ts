/**
 * Can this device reach and log in to the audio gateway? Three steps, each with its own
 * explanation: TCP connect, TLS handshake (wss only), WebSocket upgrade with the token
 * (401/403 reported as such). The token is sent, never printed.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { WebSocket } from '../util/ws-lib.js';
import type { Config } from '../config/schema.js';
import type { CheckResult } from './types.js';

export interface GatewayCheckOptions {
  config: Config;
  /** Bearer token, or undefined to connect without one. */
  token?: string;
  /** Why there is no token when one may exist (e.g. the credential file needs root): used for the 401 fix. */
  noTokenReason?: string;
  /** Bound on each step (ms). */
  timeoutMs: number;
  /** Reads the CA file (`gateway.caFile`); injectable for tests. Default: fs.readFileSync. */
  readFile?: (file: string) => Buffer;
}

type Step<T> = { ok: true; value: T } | { ok: false; code: string; message: string };

function fail(err: unknown): { ok: false; code: string; message: string } {
  const e = err as NodeJS.ErrnoException;
  return { ok: false, code: e.code ?? 'ERROR', message: e.message ?? String(err) };
}

function tcpConnect(host: string, port: number, timeoutMs: number): Promise<Step<string>> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      resolve({ ok: false, code: 'ETIMEDOUT', message: `no answer within ${timeoutMs} ms` });
    });
    socket.once('connect', () => {
      const addr = socket.remoteAddress ?? host;
      socket.destroy();
      resolve({ ok: true, value: addr });
    });
    socket.once('error', (err) => resolve(fail(err)));
  });
}

function tlsHandshake(host: string, port: number, ca: Buffer[] | undefined, timeoutMs: number): Promise<Step<string>> {
  return new Promise((resolve) => {
    const servername = net.isIP(host) ? undefined : host;
    const socket = tls.connect({ host, port, servername, ca });
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      resolve({ ok: false, code: 'ETIMEDOUT', message: `no TLS handshake within ${timeoutMs} ms` });
    });
    socket.once('secureConnect', () => {
      const protocol = socket.getProtocol() ?? 'TLS';
      socket.destroy();
      resolve({ ok: true, value: protocol });
    });
    socket.once('error', (err) => resolve(fail(err)));
  });
}

function wsUpgrade(url: string, headers: Record<string, string>, ca: Buffer[] | undefined, timeoutMs: number): Promise<Step<number>> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers, ca, handshakeTimeout: timeoutMs, perMessageDeflate: false });
    ws.once('open', () => {
      ws.close(1000, 'speaker-agent doctor');
      resolve({ ok: true, value: 101 });
    });
    ws.once('unexpected-response', (_req, res) => {
      resolve({ ok: false, code: `HTTP ${res.statusCode}`, message: res.statusMessage ?? '' });
      res.resume();
      ws.terminate();
    });
    ws.once('error', (err) => resolve(fail(err)));
  });
}

const UNTRUSTED = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
]);

function tcpExplanation(code: string, where: string): { detail: string; fix: string } {
  switch (code) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return { detail: `cannot resolve the host of ${where} (DNS)`, fix: 'check gateway.url for typos and that the Pi has network and DNS (`ping` the host)' };
    case 'ECONNREFUSED':
      return { detail: `nothing accepts connections at ${where}`, fix: 'check the port in gateway.url and that the gateway is running' };
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return { detail: `no route or no answer from ${where} (${code})`, fix: 'check the network (Wi-Fi connected?) and any firewall between the Pi and the gateway' };
    default:
      return { detail: `cannot connect to ${where} (${code})`, fix: 'check gateway.url and the network' };
  }
}

function tlsExplanation(code: string, message: string, host: string): { detail: string; fix: string } {
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
    return {
      detail: `the gateway's certificate is not valid at this machine's time (${code})`,
      fix: 'check `date` first (sudo timedatectl set-ntp true); if the clock is right, the gateway must renew its certificate',
    };
  }
  if (UNTRUSTED.has(code)) {
    return { detail: `the gateway's certificate is not trusted (${code})`, fix: 'set gateway.caFile to the PEM of the CA that signed it (private gateways), or `sudo apt-get install ca-certificates`' };
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return { detail: `the gateway's certificate does not name ${host}`, fix: 'use the host name the certificate was issued for in gateway.url' };
  }
  return { detail: `TLS handshake failed: ${message} (${code})`, fix: 'if the gateway does not use TLS, use a ws:// URL; otherwise check its TLS setup' };
}

/** Runs the three steps against `config.gateway.url`; stops at the first failing one. */
export async function checkGateway(options: GatewayCheckOptions): Promise<CheckResult> {
  const id = 'gateway';
  const g = options.config.gateway;
  const url = new URL(g.url);
  for (const [k, v] of Object.entries(g.query)) url.searchParams.set(k, v);
  const secure = url.protocol === 'wss:';
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = Number(url.port) || (secure ? 443 : 80);
  const where = `${host}:${port}`;

  const tcp = await tcpConnect(host, port, options.timeoutMs);
  if (!tcp.ok) return { id, status: 'fail', ...tcpExplanation(tcp.code, where) };
  const steps = [`TCP ${where} ok`];

  let ca: Buffer[] | undefined;
  if (secure) {
    if (g.caFile) {
      try {
        // Exactly what the gateway client trusts (src/gateway/client.ts passes `ca: [file]`),
        // so the doctor predicts the agent rather than a more lenient client.
        ca = [(options.readFile ?? readFileSync)(g.caFile)];
      } catch (err) {
        return { id, status: 'fail', detail: `cannot read gateway.caFile ${g.caFile} (${(err as NodeJS.ErrnoException).code ?? String(err)})`, fix: 'fix the path in gateway.caFile' };
      }
    }
    const hs = await tlsHandshake(host, port, ca, options.timeoutMs);
    if (!hs.ok) return { id, status: 'fail', detail: `${steps.join(', ')}; ${tlsExplanation(hs.code, hs.message, host).detail}`, fix: tlsExplanation(hs.code, hs.message, host).fix };
    steps.push(`${hs.value} ok`);
  }

  const headers: Record<string, string> = { ...g.headers };
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  const up = await wsUpgrade(url.toString(), headers, ca, options.timeoutMs);
  if (up.ok) {
    const auth = options.token ? 'with the token' : 'without a token';
    return { id, status: 'ok', detail: `${steps.join(', ')}, WebSocket upgrade accepted ${auth}` };
  }
  const prefix = steps.join(', ');
  if (up.code === 'HTTP 401') {
    return {
      id,
      status: 'fail',
      detail: `${prefix}; the gateway rejected the ${options.token ? 'token' : 'connection without a token'} (401 Unauthorized)`,
      fix: options.token
        ? 'the token is wrong or expired: write the current one to the token file (see the token line)'
        : (options.noTokenReason ?? 'give the agent a token (see the token line)'),
    };
  }
  if (up.code === 'HTTP 403') {
    return {
      id,
      status: 'fail',
      detail: `${prefix}; the gateway accepted who we are but refused access (403 Forbidden)`,
      fix: 'the token is valid but not allowed here: check tenant headers (gateway.headers) and query (gateway.query) with the gateway operator',
    };
  }
  if (up.code.startsWith('HTTP ')) {
    return { id, status: 'fail', detail: `${prefix}; WebSocket upgrade refused (${up.code} ${up.message})`, fix: 'check the path in gateway.url: it must be the gateway\'s WebSocket endpoint' };
  }
  return { id, status: 'fail', detail: `${prefix}; WebSocket upgrade failed: ${up.message}`, fix: 'check gateway.url; a proxy in between must pass WebSocket upgrades' };
}
