import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { parseConfig } from '../../src/config/load.js';
import { runDoctor } from '../../src/doctor/doctor.js';
import { checkGateway } from '../../src/doctor/gateway-check.js';
import { errno, fakeContext } from '../helpers/fake-machine.js';

/** A gateway on loopback port 0 that accepts `Bearer good`, forbids `Bearer forbidden`, else 401. */
function gateway(server: http.Server | https.Server) {
  const seen: { authorization?: string; tenant?: string; url?: string }[] = [];
  const wss = new WebSocketServer({
    server,
    path: '/gw',
    verifyClient: (info, done) => {
      const auth = info.req.headers.authorization;
      seen.push({ authorization: auth, tenant: info.req.headers.tenantid as string | undefined, url: info.req.url });
      if (auth === 'Bearer good') done(true);
      else if (auth === 'Bearer forbidden') done(false, 403, 'Forbidden');
      else done(false, 401, 'Unauthorized');
    },
  });
  return { wss, seen };
}

async function listen(server: http.Server | https.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

function cfg(url: string, extra: Record<string, unknown> = {}) {
  return parseConfig({ gateway: { url, ...extra } });
}

describe('doctor gateway check (ws://)', () => {
  const server = http.createServer();
  const gw = gateway(server);
  let port = 0;
  beforeAll(async () => {
    port = await listen(server);
  });
  afterAll(async () => {
    gw.wss.close();
    await new Promise((r) => server.close(r));
  });

  it('accepts the right token, sending the configured headers and query', async () => {
    const config = cfg(`ws://127.0.0.1:${port}/gw`, { headers: { tenantid: 'hotel-7' }, query: { skillset: 'rooms' } });
    const r = await checkGateway({ config, token: 'good', timeoutMs: 5000 });
    expect(r).toEqual({ id: 'gateway', status: 'ok', detail: `TCP 127.0.0.1:${port} ok, WebSocket upgrade accepted with the token` });
    expect(gw.seen.at(-1)).toEqual({ authorization: 'Bearer good', tenant: 'hotel-7', url: '/gw?skillset=rooms' });
  });

  it('says 401 when the token is rejected, without printing it', async () => {
    const r = await checkGateway({ config: cfg(`ws://127.0.0.1:${port}/gw`), token: 'wrong-token-abc', timeoutMs: 5000 });
    expect(r.status).toBe('fail');
    expect(r.detail).toMatch(/rejected the token \(401 Unauthorized\)/);
    expect(r.fix).toMatch(/wrong or expired/);
    expect(JSON.stringify(r)).not.toContain('wrong-token-abc');
  });

  it('says 401 for a missing token, and 403 for a token that is not allowed', async () => {
    const none = await checkGateway({ config: cfg(`ws://127.0.0.1:${port}/gw`), timeoutMs: 5000 });
    expect(none.detail).toMatch(/rejected the connection without a token \(401/);
    const unreadable = await checkGateway({ config: cfg(`ws://127.0.0.1:${port}/gw`), noTokenReason: 'run `sudo speaker-agent doctor`', timeoutMs: 5000 });
    expect(unreadable.fix).toBe('run `sudo speaker-agent doctor`');
    const forbidden = await checkGateway({ config: cfg(`ws://127.0.0.1:${port}/gw`), token: 'forbidden', timeoutMs: 5000 });
    expect(forbidden.detail).toMatch(/refused access \(403 Forbidden\)/);
    expect(forbidden.fix).toMatch(/gateway\.headers/);
  });

  it('run as a user who cannot read the root-only token: the 401 says to use sudo', async () => {
    const cred = '/etc/speaker-agent/credentials/gateway-token';
    const ctx = fakeContext({ files: { [cred]: errno('EACCES', cred) } });
    const results = await runDoctor(ctx, { loadConfig: () => cfg(`ws://127.0.0.1:${port}/gw`), configSource: 'test' });
    expect(results.find((r) => r.id === 'token')).toMatchObject({ status: 'warn', detail: `${cred} exists but this user cannot read it` });
    expect(results.find((r) => r.id === 'gateway')).toMatchObject({ status: 'fail', fix: expect.stringMatching(/^this user cannot read the token: run `sudo speaker-agent doctor`/) });
  });

  it('a wrong path is an upgrade refusal, not an auth problem', async () => {
    const r = await checkGateway({ config: cfg(`ws://127.0.0.1:${port}/nope`), token: 'good', timeoutMs: 5000 });
    expect(r.detail).toMatch(/WebSocket upgrade refused \(HTTP 400/);
    expect(r.fix).toMatch(/path in gateway\.url/);
  });

  it('nothing listening: connection refused, with the port to check', async () => {
    const closed = http.createServer();
    const p = await listen(closed);
    await new Promise((r) => closed.close(r));
    const r = await checkGateway({ config: cfg(`ws://127.0.0.1:${p}/`), token: 'good', timeoutMs: 5000 });
    expect(r).toMatchObject({ status: 'fail', detail: `nothing accepts connections at 127.0.0.1:${p}` });
  });
});

describe('doctor gateway check (wss://)', () => {
  let dir: string;
  let port = 0;
  let altPort = 0;
  const servers: https.Server[] = [];

  /** A self-signed certificate for the given subjectAltName (openssl CLI). */
  function cert(name: string, san: string): { key: Buffer; cert: Buffer; certFile: string } {
    const keyFile = path.join(dir, `${name}.key`);
    const certFile = path.join(dir, `${name}.pem`);
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=speaker-agent-test', '-addext', `subjectAltName=${san}`, '-keyout', keyFile, '-out', certFile], { stdio: 'ignore' });
    return { key: readFileSync(keyFile), cert: readFileSync(certFile), certFile };
  }

  let ipCert = '';
  let dnsCert = '';
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'gw-tls-'));
    const a = cert('ip', 'IP:127.0.0.1');
    const b = cert('dns', 'DNS:gateway.example');
    ipCert = a.certFile;
    dnsCert = b.certFile;
    const s1 = https.createServer({ key: a.key, cert: a.cert });
    const s2 = https.createServer({ key: b.key, cert: b.cert });
    gateway(s1);
    gateway(s2);
    servers.push(s1, s2);
    port = await listen(s1);
    altPort = await listen(s2);
  });
  afterAll(async () => {
    for (const s of servers) await new Promise((r) => s.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it('an untrusted certificate points at gateway.caFile', async () => {
    const r = await checkGateway({ config: cfg(`wss://127.0.0.1:${port}/gw`), token: 'good', timeoutMs: 5000 });
    expect(r.status).toBe('fail');
    expect(r.detail).toMatch(/^TCP 127\.0\.0\.1:\d+ ok; the gateway's certificate is not trusted \(DEPTH_ZERO_SELF_SIGNED_CERT\)/);
    expect(r.fix).toMatch(/gateway\.caFile/);
  });

  it('with the CA file: TLS and the authenticated upgrade succeed', async () => {
    const r = await checkGateway({ config: cfg(`wss://127.0.0.1:${port}/gw`, { caFile: ipCert }), token: 'good', timeoutMs: 5000 });
    expect(r).toMatchObject({ status: 'ok', detail: expect.stringMatching(/^TCP 127\.0\.0\.1:\d+ ok, TLSv1\.3 ok, WebSocket upgrade accepted with the token$/) });
    const bad = await checkGateway({ config: cfg(`wss://127.0.0.1:${port}/gw`, { caFile: ipCert }), token: 'nope', timeoutMs: 5000 });
    expect(bad.detail).toMatch(/TLSv1\.3 ok; the gateway rejected the token \(401/);
  });

  it('a certificate for another name is explained as such', async () => {
    const r = await checkGateway({ config: cfg(`wss://127.0.0.1:${altPort}/gw`, { caFile: dnsCert }), token: 'good', timeoutMs: 5000 });
    expect(r.detail).toMatch(/certificate does not name 127\.0\.0\.1/);
  });

  it('a missing CA file is named', async () => {
    const r = await checkGateway({ config: cfg(`wss://127.0.0.1:${port}/gw`, { caFile: '/nonexistent/ca.pem' }), token: 'good', timeoutMs: 5000 });
    expect(r).toMatchObject({ status: 'fail', detail: 'cannot read gateway.caFile /nonexistent/ca.pem (ENOENT)' });
  });
});
