/** The control socket and the CLI verbs that use it, against a running agent. */
import { execFile } from 'node:child_process';
import { statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { request, subscribe } from '../../src/control/client.js';
import { parseRequest } from '../../src/control/protocol.js';
import { connected, phase, silence, speech, startHarness, waitFor, waitPhase, type Harness } from '../support/harness.js';

const run = promisify(execFile);
const CLI = path.resolve('dist/src/cli.js');

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

beforeAll(() => {
  // The CLI tests run the built program; scripts/test.sh builds before testing.
  statSync(CLI);
});

describe('control socket', () => {
  it('is created with mode 0660', async () => {
    h = await startHarness();
    expect(statSync(h.socket).mode & 0o777).toBe(0o660);
  });

  it('status, listen, stop, mute, unmute, volume, say', async () => {
    h = await startHarness({ gateway: { followUp: 'never' } });
    await connected(h);
    const status = await request(h.socket, { cmd: 'status' });
    expect(status).toMatchObject({ ok: true, status: { phase: 'idle', connected: true, muted: false, backend: 'gateway', led: 'idle' } });

    expect(await request(h.socket, { cmd: 'listen' })).toEqual({ ok: true });
    expect(phase(h)).toBe('listening');
    expect(await request(h.socket, { cmd: 'stop' })).toEqual({ ok: true });
    expect(phase(h)).toBe('idle');

    expect(await request(h.socket, { cmd: 'mute' })).toEqual({ ok: true });
    expect(h.gpio.leds.at(-1)).toBe('muted');
    const refused = await request(h.socket, { cmd: 'listen' });
    expect(refused).toMatchObject({ ok: false, reason: 'muted' });
    expect((refused as { error: string }).error).toMatch(/muted: unmute first/);
    expect(await request(h.socket, { cmd: 'unmute' })).toEqual({ ok: true });

    expect(await request(h.socket, { cmd: 'volume', percent: 40 })).toEqual({ ok: true });
    expect(h.speaker.volume).toBe(40);

    expect(await request(h.socket, { cmd: 'say', text: 'turn on the lights' })).toEqual({ ok: true });
    await waitFor(() => h!.speaker.ends > 0, 'spoken reply to the typed request');
    expect(h.gw.received.some((r) => r.action === 'text')).toBe(true);
  });

  it('streams events to subscribers', async () => {
    h = await startHarness({ gateway: { followUp: 'never' } });
    await connected(h);
    const events: Record<string, unknown>[] = [];
    const ac = new AbortController();
    let subscribed!: () => void;
    const ready = new Promise<void>((r) => (subscribed = r));
    const done = subscribe(h.socket, (e) => events.push(e), ac.signal, subscribed);
    await ready;
    h.agent.session.trigger('control');
    h.mic.push(speech(600));
    h.mic.push(silence(1000));
    await waitFor(() => events.some((e) => e.event === 'reply_text'), 'reply_text event');
    ac.abort();
    await done;
    const kinds = new Set(events.map((e) => e.event));
    for (const k of ['state', 'led', 'timeline', 'transcript', 'reply_text']) expect(kinds).toContain(k);
    expect(events.find((e) => e.event === 'led' && e.value === 'listening')).toBeTruthy();
    expect(events.every((e) => typeof e.time === 'string')).toBe(true);
  });

  it('answers malformed requests with an error and keeps serving', async () => {
    h = await startHarness();
    const lines = await new Promise<string[]>((resolve) => {
      const sock = net.connect(h!.socket);
      let buf = '';
      sock.on('data', (d) => {
        buf += d.toString();
        if (buf.split('\n').length > 3) {
          sock.end();
          resolve(buf.trim().split('\n'));
        }
      });
      sock.write('garbage\n{"cmd":"fly"}\n{"cmd":"status"}\n');
    });
    expect(JSON.parse(lines[0]!)).toMatchObject({ ok: false, error: 'request is not JSON' });
    expect(JSON.parse(lines[1]!).error).toMatch(/unknown cmd "fly"/);
    expect(JSON.parse(lines[2]!)).toMatchObject({ ok: true });
  });

  it('validates requests', () => {
    expect(parseRequest('{"cmd":"say"}')).toMatch(/non-empty "text"/);
    expect(parseRequest('{"cmd":"volume","percent":101}')).toMatch(/0 to 100/);
    expect(parseRequest('{"cmd":"volume","percent":5}')).toEqual({ cmd: 'volume', percent: 5 });
  });
});

describe('CLI verbs', () => {
  it('status prints a readable summary and --json the state', async () => {
    h = await startHarness();
    await connected(h);
    const text = await run('node', [CLI, 'status', '--control', h.socket]);
    expect(text.stdout).toMatch(/state:\s+idle/);
    expect(text.stdout).toMatch(/backend:\s+gateway connected/);
    expect(text.stdout).toMatch(/wake word:\s+on \(fake\)/);
    const json = await run('node', [CLI, 'status', '--json', '--control', h.socket]);
    expect(JSON.parse(json.stdout)).toMatchObject({ phase: 'idle', connected: true });
  });

  it('listen --timeline prints the turn and exits when it is over', async () => {
    h = await startHarness({ gateway: { followUp: 'never' } });
    await connected(h);
    h.speaker.autoDrain = true;
    const child = run('node', [CLI, 'listen', '--timeline', '--control', h.socket]);
    await waitPhase(h, 'listening');
    h.mic.push(speech(600));
    h.mic.push(silence(1000));
    const { stdout } = await child;
    const marks = ['trigger (control)', 'audio_start sent', 'audio_end sent', 'reply text:', 'reply audio arriving', 'first reply sample', 'reply complete (prompt=false)', 'playback drained', 'idle'];
    let at = -1;
    for (const m of marks) {
      const i = stdout.indexOf(m);
      expect(i, `${m} in order in:\n${stdout}`).toBeGreaterThan(at);
      at = i;
    }
    expect(stdout).toContain('transcript: ""'); // this gateway has no recogniser
  });

  it('a verb with no agent running says so and exits non-zero', async () => {
    const r = await run('node', [CLI, 'listen', '--control', '/tmp/does-not-exist.sock']).catch((e: { code: number; stderr: string }) => e);
    expect((r as { code: number }).code).toBe(1);
    expect((r as { stderr: string }).stderr).toMatch(/cannot reach the agent at \/tmp\/does-not-exist.sock: no agent is running there/);
  });

  it('a refused listen exits non-zero with the reason', async () => {
    h = await startHarness();
    await connected(h);
    await request(h.socket, { cmd: 'mute' });
    const r = await run('node', [CLI, 'listen', '--control', h.socket]).catch((e: { code: number; stderr: string }) => e);
    expect((r as { code: number }).code).toBe(1);
    expect((r as { stderr: string }).stderr).toMatch(/microphone is muted/);
  });

  it('volume rejects a bad value before connecting', async () => {
    const r = await run('node', [CLI, 'volume', 'loud', '--control', '/tmp/none.sock']).catch((e: { code: number; stderr: string }) => e);
    expect((r as { code: number }).code).toBe(2);
    expect((r as { stderr: string }).stderr).toMatch(/volume must be a number from 0 to 100/);
  });

  it('reads the socket path from a config file', async () => {
    h = await startHarness();
    const cfg = path.join(h.dir, 'c.yaml');
    writeFileSync(cfg, `control:\n  socket: ${h.socket}\n`);
    const r = await run('node', [CLI, 'status', '--json', '-c', cfg]);
    expect(JSON.parse(r.stdout).phase).toBe('idle');
  });
});
