/**
 * The playback mux: each stream on the one speaker has its own identity and end, whatever the
 * output merges.
 */
import { describe, expect, it } from 'vitest';
import { CORE_FORMAT } from '../../src/audio/format.js';
import { PlaybackMux } from '../../src/core/playback.js';
import { FakeSpeaker } from '../fakes/index.js';

const PCM = Buffer.alloc(640);

/** A speaker whose device can fail. */
class FailingSpeaker extends FakeSpeaker {
  fail(message: string): void {
    this.emit('error', { message });
  }
}

async function rig() {
  const speaker = new FailingSpeaker();
  await speaker.start();
  const mux = new PlaybackMux(speaker);
  const ended: string[] = [];
  mux.on('ended', (e) => ended.push(`${e.kind}#${e.id}${e.error ? ' error' : ''}`));
  return { speaker, mux, ended, reply: mux.channel('reply'), earcon: mux.channel('earcon') };
}

describe('PlaybackMux', () => {
  it('a reply written before the earcon drained joins its stream: one drained ends both', async () => {
    const r = await rig();
    r.earcon.write(PCM, CORE_FORMAT);
    r.earcon.end();
    r.reply.write(PCM, CORE_FORMAT); // continues the output's stream: the speaker owes no drained yet
    expect(() => r.speaker.drain()).toThrow(/nothing to drain/);
    expect(r.ended).toEqual([]);
    r.reply.end();
    r.speaker.drain();
    expect(r.ended).toEqual(['earcon#1', 'reply#2']);
  });

  it('an earcon drained before the reply begins is not the reply end', async () => {
    const r = await rig();
    r.earcon.write(PCM, CORE_FORMAT);
    r.earcon.end();
    r.speaker.drain();
    expect(r.ended).toEqual(['earcon#1']);
    expect(r.mux.busy('earcon')).toBe(false);
    r.reply.write(PCM, CORE_FORMAT);
    expect(r.mux.busy('reply')).toBe(true);
    r.reply.end();
    r.speaker.drain();
    expect(r.ended).toEqual(['earcon#1', 'reply#2']);
  });

  it('a reply with no audio that ends while an earcon plays still ends (one drained covers both)', async () => {
    const r = await rig();
    r.earcon.write(PCM, CORE_FORMAT);
    r.earcon.end();
    r.reply.end(); // audio_start + audio_end and nothing between
    r.speaker.drain();
    expect(r.ended).toEqual(['earcon#1', 'reply#2']);
  });

  it('stop drops every stream on the output with no end told', async () => {
    const r = await rig();
    r.earcon.write(PCM, CORE_FORMAT);
    r.earcon.end();
    r.reply.write(PCM, CORE_FORMAT);
    r.reply.stop();
    expect(() => r.speaker.drain()).toThrow(/nothing to drain/); // and the speaker owes none
    expect(r.ended).toEqual([]);
    expect(r.speaker.stops).toBe(1);
    expect(r.mux.busy('reply') || r.mux.busy('earcon')).toBe(false);
  });

  it('an output error ends the streams that had ended, marked as lost; an open stream goes on', async () => {
    const r = await rig();
    r.earcon.write(PCM, CORE_FORMAT);
    r.earcon.end();
    r.reply.write(PCM, CORE_FORMAT);
    r.speaker.fail('device gone');
    expect(r.ended).toEqual(['earcon#1 error']);
    expect(r.mux.busy('reply')).toBe(true);
  });

  it('each stream of a producer gets a new identity', async () => {
    const r = await rig();
    for (let i = 0; i < 3; i++) {
      r.reply.write(PCM, CORE_FORMAT);
      r.reply.end();
      r.speaker.drain();
    }
    expect(r.ended).toEqual(['reply#1', 'reply#2', 'reply#3']);
  });
});
