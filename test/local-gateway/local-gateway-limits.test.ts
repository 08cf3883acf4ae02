/** The bundled gateway's limits: oversized messages, overlong text, and a token for other hosts. */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { LocalGateway } from '../../src/local-gateway/server.js';
import { silentLogger } from '../../src/log/logger.js';

const run = promisify(execFile);
let gw: LocalGateway | undefined;
afterEach(async () => {
  await gw?.stop();
  gw = undefined;
});

async function client(url: string): Promise<{ ws: WebSocket; messages: Record<string, unknown>[]; closed: Promise<number> }> {
  const ws = new WebSocket(url);
  const messages: Record<string, unknown>[] = [];
  ws.on('message', (d) => messages.push(JSON.parse(d.toString()) as Record<string, unknown>));
  const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
  await new Promise((r) => ws.once('open', r));
  return { ws, messages, closed };
}

describe('speaker-agent gateway limits', () => {
  it('a 200 KB typed request gets an error reply, never a crash; the gateway still answers', async () => {
    gw = new LocalGateway({ log: silentLogger(), speech: 'tone', pace: 0 });
    await gw.start();
    const c = await client(gw.url);
    c.ws.send(JSON.stringify({ id: 'big', action: 'text', text: 'x'.repeat(200_000) }));
    await expect.poll(() => c.messages.find((m) => m.action === 'error' && m.id === 'big')).toBeTruthy();
    c.ws.send(JSON.stringify({ id: 'ok', action: 'text', text: 'hello' }));
    await expect.poll(() => c.messages.some((m) => m.id === 'ok' && m.action === 'audio_end'), { timeout: 10_000 }).toBe(true);
    c.ws.close();
  });

  it('a message over the payload limit closes that client (1009), not the gateway', async () => {
    gw = new LocalGateway({ log: silentLogger(), speech: 'tone', pace: 0 });
    await gw.start();
    const c = await client(gw.url);
    c.ws.send('x'.repeat(1024 * 1024));
    expect(await c.closed).toBe(1009);
    const d = await client(gw.url);
    d.ws.close();
  });

  it('refuses to listen beyond this machine without a token', async () => {
    const cli = path.resolve('dist/src/cli.js');
    const r = await run('node', [cli, 'gateway', '--host', '0.0.0.0', '--port', '0']).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/--host 0\.0\.0\.0 accepts speakers from other machines: give --token-file/);
  });
});
