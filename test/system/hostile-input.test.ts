/**
 * Hostile and broken input (issue 12, points 5-7): deep nesting, huge values, oversized binary
 * frames, endless replies, junk MP3 for the lame decoder. What the user would see: no crash, the
 * agent stays idle and connected, a normal turn works afterwards.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { LameMp3Decoder } from '../../src/audio/mp3.js';
import { Mpg123Mp3Decoder } from '../../src/audio/mp3-mpg123.js';
import { subscribe } from '../../src/control/client.js';
import { parseGatewayMessage } from '../../src/gateway/protocol.js';
import { memoryLogger } from '../../src/log/logger.js';
import { ReplyPlayer } from '../../src/core/player.js';
import type { PcmSink } from '../../src/core/playback.js';
import { bound, jsonDepthExceeds, safeStringify } from '../../src/util/bounded.js';
import { connected, phase, silence, speech, startHarness, waitFor, type Harness } from '../support/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

function nested(depth: number, leaf: unknown = 'bottom'): unknown {
  let v: unknown = leaf;
  for (let i = 0; i < depth; i++) v = { inner: v };
  return v;
}

/** A JSON text nested `depth` levels (built as text: JSON.stringify itself would overflow). */
function nestedText(depth: number, key = 'inner'): string {
  return `{"${key}":`.repeat(depth) + '"bottom"' + '}'.repeat(depth);
}

function utter(harness: Harness, ms = 600): void {
  harness.mic.push(speech(ms));
  harness.mic.push(silence(1500));
}

describe('bounded serialiser', () => {
  it('never throws or recurses past the limit: 100,000 levels, cycles, huge strings and arrays', () => {
    const deep = nested(100_000);
    expect(() => JSON.stringify(deep)).toThrow(RangeError); // what crashed the agent
    const text = safeStringify(deep);
    expect(text).toContain('[depth limit]');
    expect(text.length).toBeLessThan(1000);
    const cyc: Record<string, unknown> = { a: 1 };
    cyc.self = cyc;
    expect(bound(cyc)).toEqual({ a: 1, self: '[circular]' });
    const big = safeStringify({ s: 'x'.repeat(10_000_000), list: new Array(1_000_000).fill(7), buf: Buffer.alloc(5) });
    expect(big.length).toBeLessThan(40 * 1024);
    expect(big).toMatch(/more chars/);
    expect(big).toMatch(/more items/);
    expect(big).toContain('[5 bytes]');
  });

  it('masks secrets at every depth, in arrays and keys; redacts credential-named fields', () => {
    const m = memoryLogger();
    m.logger.addSecret('tok-SECRET-1234');
    const v = m.logger.scrub({ list: ['a tok-SECRET-1234 b', { deeper: [{ x: 'tok-SECRET-1234' }] }], 'k-tok-SECRET-1234': 1, apiKey: 'abc' });
    const s = JSON.stringify(v);
    expect(s).not.toContain('tok-SECRET-1234');
    expect(s).not.toContain('abc');
    expect(s).toContain('[redacted]');
  });

  it('jsonDepthExceeds counts nesting outside strings only', () => {
    expect(jsonDepthExceeds(nestedText(65))).toBe(true);
    expect(jsonDepthExceeds(nestedText(64))).toBe(false);
    expect(jsonDepthExceeds(JSON.stringify({ s: '{{{{{{{{{{[[[[[[[[[[[[\\"'.repeat(20) }), 3)).toBe(false);
  });

  it('the logger writes one bounded line for a value 10,000 levels deep', () => {
    const m = memoryLogger();
    m.logger.error('gateway-error', { detail: nested(10_000) });
    expect(m.lines()).toHaveLength(1);
    expect(m.text().length).toBeLessThan(2000);
  });
});

describe('gateway messages', () => {
  it('a message nested deeper than 64 levels is refused before parsing; forwarded data is bounded', () => {
    expect(parseGatewayMessage(`{"action":"error","id":"x","error":${nestedText(6000)}}`)).toEqual({ ok: false, reason: 'nested deeper than 64 levels' });
    const r = parseGatewayMessage(JSON.stringify({ action: 'response', id: 'x', data: nested(50) }));
    expect(r.ok).toBe(true);
    expect(JSON.stringify(r.ok && r.message.action === 'response' ? r.message.data : null)).toContain('[depth limit]');
    const e = parseGatewayMessage(JSON.stringify({ action: 'error', id: 'x', error: nested(50, 5) }));
    expect(e.ok && e.message.action === 'error' && e.message.message.length).toBeLessThanOrEqual(300);
  });

  it('deep error and response messages with an events client connected: no crash, idle, a normal turn works', async () => {
    h = await startHarness({ gateway: { followUp: 'never' } });
    await connected(h);
    const events: Record<string, unknown>[] = [];
    const ac = new AbortController();
    let ready!: () => void;
    const subscribed = new Promise<void>((r) => (ready = r));
    const done = subscribe(h.socket, (e) => events.push(e), ac.signal, ready);
    await subscribed;
    h.gw.broadcastRaw(`{"action":"error","id":"x","error":${nestedText(6000)}}`);
    h.gw.broadcastRaw(`{"action":"response","id":"x","data":${nestedText(6000)}}`);
    h.gw.broadcastRaw(`{"action":"response","id":"x","data":${nestedText(60)}}`);
    h.gw.broadcastRaw(JSON.stringify({ action: 'error', id: null, error: { message: nested(60) } }));
    await waitFor(() => events.some((e) => e.event === 'response'), 'the bounded response event');
    await waitFor(() => (h!.logText().match(/nested deeper than 64 levels/g) ?? []).length >= 2, 'two refused messages');
    const response = events.find((e) => e.event === 'response')!;
    expect(JSON.stringify(response)).toContain('[depth limit]');
    expect(phase(h)).toBe('idle');
    h.agent.session.trigger('control');
    utter(h);
    await waitFor(() => h!.speaker.ends > 0, 'a normal turn after the deep messages');
    ac.abort();
    await done;
  });
});

describe('reply size caps', () => {
  it('binary frames over gateway.maxAudioFrameBytes are dropped; the connection and the reply survive', async () => {
    h = await startHarness({ gateway: { followUp: 'never' }, config: { gateway: { maxAudioFrameBytes: 64 * 1024 } } });
    await connected(h);
    h.gw.broadcastRaw(JSON.stringify({ action: 'audio_start', id: null, format: 'audio/l16; rate=16000; channels=1' }));
    h.gw.broadcastRaw(Buffer.alloc(512 * 1024, 1), true);
    h.gw.broadcastRaw(Buffer.alloc(3200, 1), true);
    h.gw.broadcastRaw(JSON.stringify({ action: 'audio_end', id: null }));
    await waitFor(() => /oversized audio frame/.test(h!.logText()), 'the oversized frame logged');
    await waitFor(() => h!.speaker.bytes >= 3200, 'the small frame played');
    expect(h.speaker.bytes).toBe(3200);
    expect(h.agent.session.state.connected).toBe(true);
  });

  it('a frame far over both caps closes the socket (ws maxPayload), which reconnects', async () => {
    h = await startHarness({ gateway: { followUp: 'never' }, config: { gateway: { maxAudioFrameBytes: 16 * 1024, maxMessageBytes: 16 * 1024 } } });
    await connected(h);
    h.gw.broadcastRaw(JSON.stringify({ action: 'audio_start', id: null }));
    h.gw.broadcastRaw(Buffer.alloc(1024 * 1024, 1), true);
    await waitFor(() => /disconnected/.test(h!.logText()), 'the connection closed for the huge frame');
    await connected(h);
    expect(h.speaker.bytes).toBe(0);
  });

  it('one reply queues at most gateway.maxReplyBytes of audio', async () => {
    h = await startHarness({ gateway: { followUp: 'never' }, config: { gateway: { maxReplyBytes: 256 * 1024 } } });
    await connected(h);
    h.gw.broadcastRaw(JSON.stringify({ action: 'audio_start', id: null, format: 'audio/l16; rate=16000; channels=1' }));
    for (let i = 0; i < 40; i++) h.gw.broadcastRaw(Buffer.alloc(32 * 1024, 1), true);
    h.gw.broadcastRaw(JSON.stringify({ action: 'audio_end', id: null }));
    await waitFor(() => /reply-audio-dropped/.test(h!.logText()), 'the overflow logged');
    await waitFor(() => h!.speaker.bytes >= 256 * 1024, 'the budget played');
    await new Promise((r) => setTimeout(r, 100));
    expect(h.speaker.bytes).toBe(256 * 1024);
    expect((h.logText().match(/reply-audio-dropped/g) ?? []).length).toBe(1);
  });

  it('the player queues at most maxReplyMs of PCM per reply, whatever the backend', () => {
    const m = memoryLogger();
    let written = 0;
    const sink: PcmSink = { write: (pcm) => (written += pcm.length), end: () => undefined, stop: () => undefined };
    const player = new ReplyPlayer(sink, () => {
      throw new Error('no mp3 here');
    }, m.logger, {}, 1000);
    player.beginStream({ codec: 'pcm', sampleRate: 16000, channels: 1 });
    for (let i = 0; i < 100; i++) player.write(Buffer.alloc(3200)); // 100 ms each: 10 s
    player.finish();
    expect(written).toBe(32000); // 1 s
    expect(m.text()).toMatch(/reply-audio-dropped/);
  });
});

describe('lame MP3 decoder and junk', () => {
  it('destroyed with megabytes of junk still queued for lame: no unhandled EPIPE', async () => {
    const d = new LameMp3Decoder();
    const errors: string[] = [];
    d.on('error', (e) => errors.push(e.message));
    d.on('pcm', () => undefined);
    await new Promise((r) => setTimeout(r, 300)); // lame loaded and spawned
    for (let i = 0; i < 50; i++) d.write(Buffer.alloc(65536, 0x41));
    await new Promise((r) => setTimeout(r, 20));
    d.destroy();
    await new Promise((r) => setTimeout(r, 800)); // an unhandled EPIPE would fail the run here
    expect(errors).toEqual([]);
  });

  it('junk that lame cannot read ends or fails the decoder, never the process', async () => {
    const d = new LameMp3Decoder();
    const seen: string[] = [];
    d.on('error', () => seen.push('error'));
    d.on('end', () => seen.push('end'));
    d.on('pcm', () => undefined);
    d.write(Buffer.from('hello world junk'));
    d.end();
    await waitFor(() => seen.length > 0, 'end or error', 5000);
  });

  it('the agent with audio.mp3Decoder: lame, a junk MP3 reply cut by stop: idle, and a normal turn works', async () => {
    h = await startHarness({ gateway: { followUp: 'never' }, config: { audio: { mp3Decoder: 'lame' } } });
    await connected(h);
    h.agent.session.trigger('control');
    h.gw.broadcastRaw(JSON.stringify({ action: 'audio_start', id: null, format: 'audio/mpeg' }));
    const junk = Buffer.alloc(65536, 0x41);
    junk[0] = 0xff;
    junk[1] = 0xfb;
    for (let i = 0; i < 40; i++) h.gw.broadcastRaw(junk, true);
    await new Promise((r) => setTimeout(r, 400));
    h.agent.session.stopAll();
    h.gw.broadcastRaw(JSON.stringify({ action: 'audio_end', id: null }));
    await new Promise((r) => setTimeout(r, 600));
    await waitFor(() => phase(h!) === 'idle', 'idle after the junk');
    h.agent.session.trigger('control');
    utter(h);
    await waitFor(() => h!.speaker.ends > 0, 'a normal turn after the junk', 8000);
  });
});

describe('mpg123 MP3 decoder and junk', () => {
  it('junk MP3 writes nothing to stderr (one line per bad frame would flood the journal); it ends or fails once', async () => {
    const printed: unknown[] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => void printed.push(args);
    try {
      const d = new Mpg123Mp3Decoder();
      const errors: string[] = [];
      d.on('error', (e) => errors.push(e.message));
      d.on('pcm', () => undefined);
      d.on('end', () => errors.push('end'));
      // Chunks that each start with a frame sync and then hold nothing that decodes.
      for (const fill of [0x00, 0x41, 0xff, 0x55]) {
        const junk = Buffer.alloc(3200, fill);
        junk.set([0xff, 0xfb], 0);
        for (let i = 0; i < 5; i++) d.write(junk);
      }
      d.end();
      await waitFor(() => errors.length > 0, 'the decoder ends or fails', 5000);
      await new Promise((r) => setTimeout(r, 50));
      expect(errors).toHaveLength(1);
    } finally {
      console.error = original;
    }
    expect(printed).toEqual([]);
  });
});

describe('raw control socket input', () => {
  it('a request nested 10,000 levels deep gets a clear error', async () => {
    h = await startHarness();
    const reply = await new Promise<string>((resolve) => {
      const c = net.connect(h!.socket);
      let buf = '';
      c.setEncoding('utf8');
      c.on('data', (d: string) => {
        buf += d;
        if (buf.includes('\n')) {
          c.destroy();
          resolve(buf);
        }
      });
      c.write('['.repeat(10_000) + ']'.repeat(10_000) + '\n');
    });
    expect(JSON.parse(reply)).toMatchObject({ ok: false, error: 'request nested deeper than 8 levels' });
  });
});

describe('never stuck speaking', () => {
  it('a stray audio_data (no audio_start) never makes the agent speak: it is dropped with a line', async () => {
    // Found by npm run chaos: a stray 100 ms chunk, held by the jitter buffer, kept the agent
    // "speaking" with nothing playing. Audio that no audio_start announced is now dropped by the
    // gateway client (docs/protocol.md), and held jitter audio no longer counts as queued.
    h = await startHarness({ config: { conversation: { thinkingTimeoutMs: 1500 } } });
    await connected(h);
    h.gw.broadcastRaw(JSON.stringify({ action: 'audio_data', id: 'orphan-1', data: Buffer.alloc(3200, 1).toString('base64') }));
    await waitFor(() => h!.logText().includes('reply-audio-dropped'), 'the stray audio dropped');
    await new Promise((r) => setTimeout(r, 100));
    expect(phase(h)).toBe('idle');
    expect(h.speaker.bytes).toBe(0);
  });
});
