/** The fakes refuse a sloppy set-up with a clear Error, as serialport's mock binding does. */
import { describe, expect, it } from 'vitest';
import { FakeGpio, FakeKtd, FakeLines, FakeMic, FakeSpeaker, FakeWake, ScriptedEngine } from './index.js';

const MONO = { sampleRate: 16000, channels: 1 };
const pcm = (samples: number) => Buffer.alloc(samples * 2);

describe('FakeMic', () => {
  it('refuses audio and errors while not started: before start() and after stop()', async () => {
    const mic = new FakeMic();
    expect(() => mic.push(new Int16Array(320))).toThrow(/FakeMic\.push\(\): the mic is not started/);
    expect(() => mic.fail('x')).toThrow(/not started/);
    await mic.start();
    mic.push(new Int16Array(320));
    await mic.stop();
    expect(() => mic.pushSilence(20)).toThrow(/not started/);
  });

  it('start() is idempotent (one stream), a new start counts from 0; frame sizes must be positive', async () => {
    const mic = new FakeMic();
    const idx: number[] = [];
    mic.on('frame', (f) => idx.push(f.sampleIndex));
    await mic.start();
    await mic.start();
    mic.push(new Int16Array(640));
    expect(idx).toEqual([0, 320]);
    expect(() => mic.push(new Int16Array(10), 0)).toThrow(/frameSamples/);
    await mic.stop();
    await mic.start();
    mic.push(new Int16Array(320));
    expect(idx).toEqual([0, 320, 0]);
  });
});

describe('FakeSpeaker', () => {
  it('refuses write() and end() before start() and after close()', async () => {
    const spk = new FakeSpeaker();
    expect(() => spk.write(pcm(10), MONO)).toThrow(/FakeSpeaker\.write\(\): the speaker is not started/);
    expect(() => spk.end()).toThrow(/not started/);
    await spk.start();
    spk.write(pcm(10), MONO);
    await spk.close();
    expect(() => spk.write(pcm(10), MONO)).toThrow(/FakeSpeaker\.write\(\): the speaker is closed/);
    expect(() => spk.end()).toThrow(/closed/);
  });

  it('refuses PCM that is not whole frames, a bad format, and a volume outside 0-100', async () => {
    const spk = new FakeSpeaker();
    spk.setVolume(30); // before start: allowed (the agent sets it first)
    await spk.start();
    expect(() => spk.write(Buffer.alloc(3), MONO)).toThrow(/not a whole number of 16-bit frames/);
    expect(() => spk.write(Buffer.alloc(6), { sampleRate: 16000, channels: 2 })).toThrow(/whole number/);
    expect(() => spk.write(pcm(2), { sampleRate: 0, channels: 1 })).toThrow(/bad PCM format/);
    expect(() => spk.setVolume(101)).toThrow(/0-100/);
    expect(() => spk.setVolume(Number.NaN)).toThrow(/0-100/);
  });

  it('drain() needs an ended stream; stop() cancels the drained', async () => {
    const spk = new FakeSpeaker();
    let drained = 0;
    spk.on('drained', () => drained++);
    await spk.start();
    expect(() => spk.drain()).toThrow(/nothing to drain/);
    spk.write(pcm(10), MONO);
    expect(() => spk.drain()).toThrow(/nothing to drain/);
    spk.end();
    spk.drain();
    expect(drained).toBe(1);
    spk.write(pcm(10), MONO);
    spk.end();
    spk.stop();
    expect(() => spk.drain()).toThrow(/nothing to drain/);
    expect(drained).toBe(1);
  });
});

describe('FakeWake', () => {
  it('refuses feed() and detect() while not started; sample indices are whole numbers', async () => {
    const wake = new FakeWake();
    expect(() => wake.feed(new Int16Array(320), 0)).toThrow(/FakeWake\.feed\(\): the wake engine is not started/);
    expect(() => wake.detect()).toThrow(/not started/);
    await wake.start();
    wake.feed(new Int16Array(320), 0);
    expect(() => wake.feed(new Int16Array(320), -1)).toThrow(/sampleIndex/);
    expect(() => wake.feed(new Int16Array(320), 1.5)).toThrow(/sampleIndex/);
    const hits: number[] = [];
    wake.on('detected', (d) => hits.push(d.sampleIndex));
    wake.detect();
    expect(hits).toEqual([320]);
    await wake.stop();
    expect(() => wake.feed(new Int16Array(320), 320)).toThrow(/not started/);
    wake.setGuard(true); // any time
  });
});

describe('FakeGpio', () => {
  it('refuses button events while not started, unknown LED states and levels outside 0-1', async () => {
    const gpio = new FakeGpio();
    gpio.setLed('idle'); // any time
    expect(() => gpio.button('press')).toThrow(/FakeGpio\.button\(\): the GPIO is not started/);
    await gpio.start();
    gpio.button('press');
    expect(() => gpio.button('squeeze' as never)).toThrow(/unknown button event/);
    expect(() => gpio.setLed('party' as never)).toThrow(/unknown LED state/);
    expect(() => gpio.setLed('speaking', 1.5)).toThrow(/0-1/);
    await gpio.stop();
    expect(() => gpio.button('down')).toThrow(/not started/);
  });
});

describe('fakes under the board GPIO and the wake engine', () => {
  it('FakeLines: a pin is claimed once; a released output and a closed driver refuse', async () => {
    const lines = new FakeLines();
    const out = await lines.output(25, false, () => {});
    await expect(lines.output(25, true, () => {})).rejects.toThrow(/GPIO25 is already claimed/);
    await out.close();
    expect(() => out.set(true)).toThrow(/GPIO25 was released/);
    await lines.close();
    await expect(lines.input(17, 'pull-up', () => {}, () => {})).rejects.toThrow(/closed/);
  });

  it('FakeKtd refuses writes after close; ScriptedEngine refuses frames after release', () => {
    const chip = new FakeKtd();
    chip.close();
    expect(() => chip.writeRegister(4, 0)).toThrow(/closed/);
    const engine = new ScriptedEngine({ accessKey: 'k', keywords: [], sensitivities: [] });
    engine.release();
    expect(() => engine.process(new Int16Array(512))).toThrow(/released/);
  });
});
