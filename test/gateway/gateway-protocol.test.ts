import { describe, expect, it } from 'vitest';
import { decodeAudioData, formatFromContentType, parseGatewayMessage, parsePrompt } from '../../src/gateway/protocol.js';

const ok = (o: unknown) => {
  const r = parseGatewayMessage(JSON.stringify(o));
  if (!r.ok) throw new Error(r.reason);
  return r.message;
};

describe('gateway messages', () => {
  it('parses the examples of docs/protocol.md', () => {
    expect(ok({ id: 'a', action: 'stt_transcript', transcript: 'hello world', confidence: 0.98, transactionId: 'x' })).toEqual({
      action: 'stt_transcript', id: 'a', transcript: 'hello world', confidence: 0.98, final: true, transactionId: 'x',
    });
    expect(ok({ id: 'a', action: 'text', text: 'Hello world' })).toEqual({ action: 'text', id: 'a', text: 'Hello world' });
    expect(ok({ id: 'a', action: 'response', data: { skill: 'x' } })).toEqual({ action: 'response', id: 'a', data: { skill: 'x' } });
    expect(ok({ id: 'a', action: 'audio_end', prompt: true })).toEqual({ action: 'audio_end', id: 'a', prompt: true });
    expect(ok({ id: 'a', action: 'audio_end' })).toEqual({ action: 'audio_end', id: 'a', prompt: false });
    expect(ok({ id: 'a', action: 'error', error: {} })).toMatchObject({ action: 'error', message: 'unspecified gateway error' });
    expect(ok({ id: 'a', action: 'error', error: { description: 'no skill' } })).toMatchObject({ message: 'no skill' });
  });

  it('reads the reply text from `text` or, as the reference client does, `speech`; `voice` is the audio URL', () => {
    expect(ok({ id: 'a', action: 'text', speech: 'The blinds are open.', voice: 'https://gw.example/tts/a.mp3?sig=1', prompt: true })).toEqual({
      action: 'text', id: 'a', text: 'The blinds are open.', voice: 'https://gw.example/tts/a.mp3?sig=1', prompt: true,
    });
    expect(ok({ id: 'a', action: 'text', text: 'From text', speech: 'From speech' })).toMatchObject({ text: 'From text' });
    expect(ok({ id: 'a', action: 'text', voice: 'http://x/a.wav' })).toMatchObject({ text: '', voice: 'http://x/a.wav' });
  });

  it('accepts both audio_data forms', () => {
    const bytes = [1, 2, 3, 250];
    expect(ok({ id: 'a', action: 'audio_data', data: Buffer.from(bytes).toString('base64'), encoding: 'base64' })).toMatchObject({ data: Buffer.from(bytes) });
    expect(ok({ id: 'a', action: 'audio_data', data: { type: 'Buffer', data: bytes } })).toMatchObject({ data: Buffer.from(bytes) });
    expect(decodeAudioData({ type: 'Buffer', data: [1, 256] })).toMatch(/non-byte/);
    expect(decodeAudioData('@@@')).toMatch(/base64/);
    expect(decodeAudioData(42)).toMatch(/must be a base64 string/);
  });

  it('reads prompt as boolean, string or STT options, from text and audio_end', () => {
    expect(parsePrompt('true')).toBe(true);
    expect(parsePrompt({ model: 'yes-no' })).toEqual({ model: 'yes-no' });
    expect(parsePrompt(3)).toBeUndefined();
    expect(ok({ id: 'a', action: 'text', text: 'Which room?', prompt: true })).toMatchObject({ prompt: true });
  });

  it('finds the reply format in audio_start', () => {
    expect(ok({ id: 'a', action: 'audio_start', options: { tts: { content_type: 'audio/mpeg' } } })).toMatchObject({ format: { codec: 'mp3' } });
    expect(ok({ id: 'a', action: 'audio_start', content_type: 'audio/l16; rate=22050; channels=1' })).toMatchObject({
      format: { codec: 'pcm', sampleRate: 22050, channels: 1 },
    });
    expect(ok({ id: 'a', action: 'audio_start' })).toMatchObject({ format: { codec: 'unknown' } });
    expect(formatFromContentType('audio/l16')).toEqual({ codec: 'pcm', sampleRate: 16000, channels: 1 });
    expect(formatFromContentType('audio/ogg')).toEqual({ codec: 'unknown' });
  });

  it('rejects junk with a reason', () => {
    const bad = (text: string) => {
      const r = parseGatewayMessage(text);
      expect(r.ok).toBe(false);
      return r.ok ? '' : r.reason;
    };
    expect(bad('nope')).toBe('not JSON');
    expect(bad('null')).toBe('not a JSON object');
    expect(bad('{"id":"a"}')).toBe('no "action" field');
    expect(bad('{"id":5,"action":"text","text":"x"}')).toBe('"id" must be a string');
    expect(bad('{"id":"a","action":"text"}')).toMatch(/without a "text" or "speech"/);
    expect(bad('{"id":"a","action":"fly"}')).toBe('unknown action "fly"');
  });

  it('treats an explicit final:false transcript as interim', () => {
    expect(ok({ id: 'a', action: 'stt_transcript', transcript: 'hel', final: false })).toMatchObject({ final: false });
  });
});
