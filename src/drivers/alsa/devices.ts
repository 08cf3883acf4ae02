/**
 * Device lookup for the ALSA drivers: turns what the user wrote after `alsa:` (an ALSA PCM
 * name, a sound-card name substring, or a card index) into the device to open, and builds the
 * one-line error that says what was asked for, what exists and what to check.
 */
import { readFileSync } from 'node:fs';
import { DeviceError } from '../../errors.js';

/** One device as PortAudio reports it (the subset we use). */
export interface PaDevice {
  /** PortAudio device id (what naudiodon's `deviceId` takes). */
  id: number;
  /** PortAudio name: an ALSA PCM name (`default`, `dsnoop`) or `card: ... (hw:N,M)` for hardware. */
  name: string;
  maxInputChannels: number;
  maxOutputChannels: number;
  /** Hz. */
  defaultSampleRate: number;
}

/** One line of /proc/asound/cards. */
export interface SoundCard {
  /** Card index, as in `hw:N`. */
  index: number;
  /** Short id, as in `hw:CARD=id` (e.g. `seeed2micvoicec`). */
  id: string;
  /** Long description (e.g. `seeed-2mic-voicecard`). */
  name: string;
}

/** Parses /proc/asound/cards text (`" 1 [seeed2micvoicec]: seeed-2mic-voi - seeed-2mic-voicecard"`). */
export function parseCards(text: string): SoundCard[] {
  const cards: SoundCard[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*(\d+)\s+\[([^\]]+?)\s*\]:\s*(.*?)\s*$/.exec(line);
    if (!m) continue;
    const rest = m[3]!;
    const dash = rest.indexOf(' - ');
    cards.push({ index: Number(m[1]), id: m[2]!, name: dash >= 0 ? rest.slice(dash + 3) : rest });
  }
  return cards;
}

/** Reads the kernel's card list; empty when there is none (no cards, no /proc/asound). */
export function readCards(path = '/proc/asound/cards'): SoundCard[] {
  try {
    return parseCards(readFileSync(path, 'utf8'));
  } catch {
    return [];
  }
}

/** The ALSA card index of a PortAudio hardware device (`... (hw:1,0)`), if it is one. */
export function hwAddress(device: PaDevice): { card: number; dev: number } | undefined {
  const m = /\(hw:(\d+),(\d+)\)\s*$/.exec(device.name);
  return m ? { card: Number(m[1]), dev: Number(m[2]) } : undefined;
}

const norm = (s: string) => s.toLowerCase();

/** Cards whose id or name contains `text` (case-insensitive). */
function cardsMatching(cards: SoundCard[], text: string): SoundCard[] {
  const t = norm(text);
  return cards.filter((c) => norm(c.id) === t || norm(c.id).includes(t) || norm(c.name).includes(t));
}

/** Card index named by `hw:N`, `plughw:N,M`, `hw:CARD=id,DEV=M`, ... or undefined. */
function cardFromAlsaName(name: string, cards: SoundCard[]): { card: number; dev: number } | undefined {
  const m = /^(?:plug)?hw:(?:CARD=)?([^,]+)(?:,(?:DEV=)?(\d+))?$/.exec(name);
  if (!m) return undefined;
  const dev = m[2] ? Number(m[2]) : 0;
  if (/^\d+$/.test(m[1]!)) return { card: Number(m[1]), dev };
  const card = cards.find((c) => c.id === m[1]);
  return card ? { card: card.index, dev } : undefined;
}

/** What to check when a device is missing, appended to every lookup error. */
export const DEVICE_HINT =
  'check that the user is in group "audio", that the HAT overlay is in /boot/firmware/config.txt (e.g. dtoverlay=seeed-2mic-voicecard) and that arecord -l / aplay -l list the card';

function listNames(devices: PaDevice[]): string {
  return devices.length ? devices.map((d) => `"${d.name}"`).join(', ') : 'none';
}

/**
 * Finds the capture device for `spec` among PortAudio's devices:
 * `''`/`default` -> the default input; an exact PortAudio name; a card index (`1`); an ALSA
 * hardware name (`hw:1,0`, `plughw:CARD=seeed2micvoicec`); else a case-insensitive substring
 * of a device name or of a card's id/name. Throws DeviceError with one clear line.
 */
export function resolveCaptureDevice(spec: string, devices: PaDevice[], cards: SoundCard[], defaultInput?: number): PaDevice {
  const inputs = devices.filter((d) => d.maxInputChannels > 0);
  const wanted = spec.trim();
  const found = findDevice(wanted, inputs, cards, defaultInput);
  if (found) return found;
  throw new DeviceError(
    `microphone "alsa:${wanted}" not found; capture devices: ${listNames(inputs)}; ${DEVICE_HINT}, then run "speaker-agent devices"`,
  );
}

function findDevice(wanted: string, inputs: PaDevice[], cards: SoundCard[], defaultId?: number): PaDevice | undefined {
  if (wanted === '' || wanted === 'default') {
    return inputs.find((d) => d.name === 'default') ?? inputs.find((d) => d.id === defaultId) ?? (wanted === '' ? inputs[0] : undefined);
  }
  const exact = inputs.find((d) => d.name === wanted);
  if (exact) return exact;
  const onCard = (card: number, dev = 0) =>
    inputs.find((d) => hwAddress(d)?.card === card && hwAddress(d)?.dev === dev) ?? inputs.find((d) => hwAddress(d)?.card === card);
  if (/^\d+$/.test(wanted)) return onCard(Number(wanted));
  const hw = cardFromAlsaName(wanted, cards);
  if (hw) return onCard(hw.card, hw.dev);
  const t = norm(wanted);
  const byName = inputs.filter((d) => norm(d.name).includes(t));
  if (byName.length > 0) return byName.find((d) => hwAddress(d)) ?? byName[0];
  for (const card of cardsMatching(cards, wanted)) {
    const d = onCard(card.index);
    if (d) return d;
  }
  return undefined;
}

/**
 * The ALSA PCM name the `speaker` module should open for `spec`: `''`/`default` -> `default`;
 * a card index -> `plughw:N,0`; a card id/name substring -> `plughw:CARD=id,DEV=0`; anything
 * else is taken as an ALSA PCM name (`plughw:1,0`, `dmix`, a name from ~/.asoundrc).
 * `plughw` rather than `hw`, so ALSA converts the reply's rate and channels when the card
 * cannot play them natively. Throws DeviceError for a card index that does not exist.
 */
export function resolvePlaybackName(spec: string, cards: SoundCard[]): string {
  const wanted = spec.trim();
  if (wanted === '' || wanted === 'default') return 'default';
  if (/^\d+$/.test(wanted)) {
    const index = Number(wanted);
    if (cards.length > 0 && !cards.some((c) => c.index === index)) {
      throw new DeviceError(`speaker "alsa:${wanted}" not found; sound cards: ${describeCards(cards)}; ${DEVICE_HINT}`);
    }
    return `plughw:${index},0`;
  }
  if (/[:]/.test(wanted)) return wanted;
  const matches = cardsMatching(cards, wanted);
  if (matches.length > 0) return `plughw:CARD=${matches[0]!.id},DEV=0`;
  return wanted;
}

/** `0 [seeed2micvoicec] seeed-2mic-voicecard, 1 [Headphones] bcm2835 Headphones` or `none`. */
export function describeCards(cards: SoundCard[]): string {
  return cards.length ? cards.map((c) => `${c.index} [${c.id}] ${c.name}`).join(', ') : 'none (no sound card found)';
}
