/** Device lookup with what a Pi with a ReSpeaker 4-Mic HAT and the headphone jack reports. */
import { describe, expect, it } from 'vitest';
import { type PaDevice, parseCards, resolveCaptureDevice, resolvePlaybackName } from '../../src/drivers/alsa/devices.js';
import { captureCandidates } from '../../src/drivers/alsa/mic.js';
import { DeviceError } from '../../src/errors.js';

const cards = parseCards(
  [
    ' 0 [Headphones     ]: bcm2835_headpho - bcm2835 Headphones',
    '                      bcm2835 Headphones',
    ' 1 [seeed4micvoicec]: seeed-4mic-voic - seeed-4mic-voicecard',
    '                      seeed-4mic-voicecard',
  ].join('\n'),
);

const dev = (id: number, name: string, inCh: number, outCh: number, rate = 48000): PaDevice => ({
  id,
  name,
  maxInputChannels: inCh,
  maxOutputChannels: outCh,
  defaultSampleRate: rate,
});
const devices = [
  dev(0, 'bcm2835 Headphones: - (hw:0,0)', 0, 8),
  dev(1, 'seeed-4mic-voicecard: bcm2835-i2s-ac10x-codec0 ac10x-codec.1-003b-0 (hw:1,0)', 4, 0),
  dev(2, 'sysdefault', 128, 128, 44100),
  dev(3, 'dsnoop', 4, 0),
  dev(4, 'default', 128, 128, 44100),
];

describe('sound cards', () => {
  it('parses /proc/asound/cards', () => {
    expect(cards).toEqual([
      { index: 0, id: 'Headphones', name: 'bcm2835 Headphones' },
      { index: 1, id: 'seeed4micvoicec', name: 'seeed-4mic-voicecard' },
    ]);
  });
});

describe('capture device lookup', () => {
  const find = (spec: string) => resolveCaptureDevice(spec, devices, cards, 4).id;

  it('finds default, exact names, card index, ALSA hw names and substrings', () => {
    expect(find('default')).toBe(4);
    expect(find('')).toBe(4);
    expect(find('dsnoop')).toBe(3);
    expect(find('1')).toBe(1);
    expect(find('hw:1,0')).toBe(1);
    expect(find('plughw:CARD=seeed4micvoicec,DEV=0')).toBe(1);
    expect(find('seeed')).toBe(1); // device-name substring, hardware preferred
    expect(find('4MIC')).toBe(1); // case-insensitive
  });

  it('never picks a playback-only device, and says what exists when nothing matches', () => {
    expect(() => find('0')).toThrow(DeviceError);
    expect(() => find('headphones')).toThrow(
      /^microphone "alsa:headphones" not found; capture devices: "seeed-4mic-voicecard: .*\(hw:1,0\)", "sysdefault", "dsnoop", "default"; check that the user is in group "audio"/,
    );
  });
});

describe('playback device names for the speaker module', () => {
  it('maps specs to ALSA names (plughw, so ALSA converts what the card cannot play)', () => {
    expect(resolvePlaybackName('default', cards)).toBe('default');
    expect(resolvePlaybackName('', cards)).toBe('default');
    expect(resolvePlaybackName('0', cards)).toBe('plughw:0,0');
    expect(resolvePlaybackName('headphones', cards)).toBe('plughw:CARD=Headphones,DEV=0');
    expect(resolvePlaybackName('hw:1,0', cards)).toBe('hw:1,0');
    expect(resolvePlaybackName('dmix', [])).toBe('dmix');
    expect(() => resolvePlaybackName('5', cards)).toThrow(/^speaker "alsa:5" not found; sound cards: 0 \[Headphones\] bcm2835 Headphones, 1 \[seeed4micvoicec\] seeed-4mic-voicecard; /);
  });
});

describe('capture formats tried', () => {
  it('hardware: native channel count, 16 kHz first then 48 kHz', () => {
    const c = captureCandidates(devices[1]!, { channel: 'mix' });
    expect(c.slice(0, 3)).toEqual([
      { sampleRate: 16000, channels: 4 },
      { sampleRate: 16000, channels: 2 },
      { sampleRate: 16000, channels: 1 },
    ]);
    expect(c).toContainEqual({ sampleRate: 48000, channels: 4 });
    // Picking mic 3 needs all 4 channels.
    expect(captureCandidates(devices[1]!, { channel: 3 }).every((x) => x.channels === 4)).toBe(true);
  });

  it('plugin PCMs: only the channels used; explicit settings are tried as given', () => {
    expect(captureCandidates(devices[4]!, { channel: 'mix' })[0]).toEqual({ sampleRate: 16000, channels: 1 });
    expect(captureCandidates(devices[4]!, { rate: 48000, channels: 2 })).toEqual([{ sampleRate: 48000, channels: 2 }]);
  });
});
