/**
 * Pure parts of the ALSA-name backends: device lookup, ALSA's hw_params and setup dumps, format
 * candidates, alsa-utils error lines, /proc/asound/pcm, and what `audio.alsaBackend: auto` picks.
 */
import { describe, expect, it } from 'vitest';
import { parseProcPcm } from '../../../src/drivers/alsa/alsa-devices.js';
import { parseHwParams, parsePcmList, parseSetup, pcmCandidates, resolveCapturePcm, resolvesWithoutList } from '../../../src/drivers/alsa/alsa-names.js';
import { isAlsaLibNoise, toolError } from '../../../src/drivers/alsa/alsa-tool.js';
import { resolveAlsaBackend } from '../../../src/drivers/alsa/backends.js';
import { parseCards } from '../../../src/drivers/alsa/devices.js';
import { DeviceError } from '../../../src/errors.js';

const cards = parseCards(' 0 [vc4hdmi        ]: vc4-hdmi - vc4-hdmi\n 1 [seeed4micvoicec]: seeed-4mic-voi - seeed-4mic-voicecard\n 2 [Device         ]: USB-Audio - USB PnP Sound Device\n');
const pcms = parsePcmList(
  'null\n    Discard all samples\ndefault\n    Default ALSA Output\nmymic\nhw:CARD=Device,DEV=0\n    USB PnP Sound Device, USB Audio\n    Direct hardware device\nplughw:CARD=Device,DEV=0\n',
);

describe('capture PCM lookup', () => {
  it('parses arecord -L: the unindented lines are names', () => {
    expect(pcms).toEqual(['null', 'default', 'mymic', 'hw:CARD=Device,DEV=0', 'plughw:CARD=Device,DEV=0']);
  });

  it('maps alsa:NAME to the PCM to open, marking bare hardware devices', () => {
    const find = (spec: string) => resolveCapturePcm(spec, pcms, cards);
    expect(find('')).toEqual({ name: 'default', hardware: false });
    expect(find('default')).toEqual({ name: 'default', hardware: false });
    expect(find('1')).toEqual({ name: 'hw:1,0', hardware: true });
    expect(find('hw:2,0')).toEqual({ name: 'hw:2,0', hardware: true });
    expect(find('plughw:CARD=Device,DEV=0')).toEqual({ name: 'plughw:CARD=Device,DEV=0', hardware: false });
    expect(find('mymic')).toEqual({ name: 'mymic', hardware: false });
    // A card by id or name fragment: its first device, captured natively.
    expect(find('seeed')).toEqual({ name: 'hw:CARD=seeed4micvoicec,DEV=0', hardware: true });
    expect(find('USB')).toEqual({ name: 'hw:CARD=Device,DEV=0', hardware: true });
    // Else a PCM whose name contains it (plain names first).
    expect(find('MYM')).toEqual({ name: 'mymic', hardware: false });
  });

  it('rejects a name that matches nothing, or a card that does not exist, in one line', () => {
    for (const spec of ['respeaker6', '7']) {
      let err: unknown;
      try {
        resolveCapturePcm(spec, pcms, cards);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(DeviceError);
      expect((err as Error).message).toMatch(new RegExp(`^microphone "alsa:${spec}" not found; capture devices: "default", "mymic", .*; check that the user is in group "audio"`));
      expect((err as Error).message).not.toContain('\n');
    }
  });

  it('needs the PCM list only for names it cannot resolve by form', () => {
    expect(['', 'default', '1', 'hw:1,0', 'plughw:CARD=x'].every(resolvesWithoutList)).toBe(true);
    expect(resolvesWithoutList('seeed')).toBe(false);
  });
});

describe("ALSA's dumps", () => {
  it('reads channel and rate ranges from --dump-hw-params, open bounds included', () => {
    const dump = 'ACCESS:  MMAP_INTERLEAVED RW_INTERLEAVED\nFORMAT:  S16_LE S32_LE\nCHANNELS: [1 4]\nRATE: [8000 48000]\nPERIOD_TIME: (1333 4096000]\n';
    expect(parseHwParams(dump)).toEqual({ channels: { min: 1, max: 4 }, rate: { min: 8000, max: 48000 } });
    expect(parseHwParams('CHANNELS: 2\nRATE: 48000\n')).toEqual({ channels: { min: 2, max: 2 }, rate: { min: 48000, max: 48000 } });
    expect(parseHwParams('RATE: (44099 48001)\n').rate).toEqual({ min: 44100, max: 48000 });
    expect(parseHwParams('nothing here')).toEqual({ channels: undefined, rate: undefined });
  });

  it('reads the opened format from the -v setup dump', () => {
    const setup = 'Plug PCM: Rate conversion PCM (48000, sformat=S16_LE)\nIts setup is:\n  stream       : CAPTURE\n  format       : S16_LE\n  channels     : 2\n  rate         : 16000\n  exact rate   : 16000 (16000/1)\n';
    expect(parseSetup(setup)).toEqual({ sampleRate: 16000, channels: 2 });
    expect(parseSetup('Its setup is:\n  stream : CAPTURE\n')).toBeUndefined();
  });
});

describe('capture formats to try', () => {
  const hw = { name: 'hw:1,0', hardware: true };
  const plug = { name: 'default', hardware: false };
  it('captures hardware with all its channels (up to 8), 16 kHz first, then 48 and 44.1 kHz', () => {
    expect(pcmCandidates(hw, { channels: { min: 4, max: 4 }, rate: { min: 8000, max: 48000 } }, { channel: 'mix' })).toEqual([
      { sampleRate: 16000, channels: 4 },
      { sampleRate: 48000, channels: 4 },
      { sampleRate: 44100, channels: 4 },
    ]);
    // A 48 kHz-only, 2-channel card: 16 kHz is not tried.
    expect(pcmCandidates(hw, { channels: { min: 1, max: 2 }, rate: { min: 48000, max: 48000 } }, { channel: 'mix' })).toEqual([
      { sampleRate: 48000, channels: 2 },
      { sampleRate: 48000, channels: 1 },
    ]);
    // A channel index needs that many channels.
    expect(pcmCandidates(hw, { channels: { min: 1, max: 2 }, rate: { min: 48000, max: 48000 } }, { channel: 1 })).toEqual([{ sampleRate: 48000, channels: 2 }]);
  });

  it('asks plugins for just the channels used; explicit settings win', () => {
    expect(pcmCandidates(plug, {}, { channel: 'mix' })[0]).toEqual({ sampleRate: 16000, channels: 1 });
    expect(pcmCandidates(plug, {}, { channel: 2 })[0]).toEqual({ sampleRate: 16000, channels: 3 });
    expect(pcmCandidates(hw, { channels: { min: 1, max: 8 } }, { rate: 48000, channels: 6 })).toEqual([{ sampleRate: 48000, channels: 6 }]);
  });
});

describe('alsa-utils output', () => {
  it('turns error lines into the reason, and tells libasound noise apart', () => {
    expect(toolError('arecord: main:831: audio open error: Device or resource busy', 'arecord')).toBe('audio open error: Device or resource busy');
    expect(toolError('aplay: pcm_write:2178: write error: Input/output error', 'aplay')).toBe('write error: Input/output error');
    expect(toolError('Recording raw data', 'arecord')).toBeUndefined();
    expect(isAlsaLibNoise('ALSA lib pcm.c:2666:(snd_pcm_open_noupdate) Unknown PCM nosuch')).toBe(true);
  });

  it('reads the kernel devices from /proc/asound/pcm', () => {
    const text = '00-00: bcm2835 Headphones : bcm2835 Headphones : playback 8\n01-00: USB Audio : USB Audio : playback 1 : capture 1\n';
    expect(parseProcPcm(text)).toEqual([
      { card: 0, device: 0, name: 'bcm2835 Headphones', playback: true, capture: false },
      { card: 1, device: 0, name: 'USB Audio', playback: true, capture: true },
    ]);
  });
});

describe('audio.alsaBackend: auto', () => {
  const probe = (alsaUtils: boolean, koffi: string | undefined) => ({ alsaUtils: () => alsaUtils, koffi: () => koffi });
  it('takes arecord where alsa-utils is installed, else koffi if it loads, else naudiodon', () => {
    expect(resolveAlsaBackend('auto', probe(true, undefined)).name).toBe('arecord');
    expect(resolveAlsaBackend('auto', probe(false, undefined))).toMatchObject({ name: 'koffi', reason: expect.stringMatching(/alsa-utils is missing/) });
    expect(resolveAlsaBackend('auto', probe(false, 'cannot load libasound.so.2'))).toMatchObject({ name: 'naudiodon', reason: expect.stringMatching(/cannot load libasound/) });
  });

  it('an explicit setting is used as given', () => {
    expect(resolveAlsaBackend('naudiodon', probe(true, undefined))).toEqual({ name: 'naudiodon', reason: 'audio.alsaBackend: naudiodon' });
  });
});
