/**
 * Spoken test utterances made on the spot: flite or espeak-ng say the words, sox makes 16 kHz
 * mono PCM, and pink noise can be mixed in at a chosen signal-to-noise ratio. Cached under the
 * temp directory by voice and text, so repeated runs do not synthesise again.
 *
 * Voices are `flite/<voice>` (slt, rms, awb, kal16, kal) or `espeak/<voice>` (en-us, en-us+f3...).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bytesToInt16 } from '../../src/audio/wav.js';

const RATE = 16000;
const CACHE = path.join(os.tmpdir(), 'speaker-agent-speech-fixtures');

/** `text` spoken by `voice`, 16 kHz mono, with no padding. Throws when the engine is missing. */
export function spoken(voice: string, text: string): Int16Array {
  mkdirSync(CACHE, { recursive: true });
  const key = createHash('sha1').update(`${voice}\n${text}\nsox -R`).digest('hex').slice(0, 16);
  const raw = path.join(CACHE, `${key}.raw`);
  if (!existsSync(raw)) {
    const [engine, name] = voice.split('/') as [string, string];
    const wav = path.join(CACHE, `${key}.${process.pid}.wav`);
    if (engine === 'flite') execFileSync('flite', ['-voice', name, '-t', text, '-o', wav], { stdio: 'ignore' });
    else if (engine === 'espeak') execFileSync('espeak-ng', ['-v', name, '-s', '155', '-w', wav, text], { stdio: 'ignore' });
    else throw new Error(`unknown voice ${voice} (use flite/NAME or espeak/NAME)`);
    const tmp = `${raw}.${process.pid}`;
    execFileSync('sox', ['-R', wav, '-r', String(RATE), '-c', '1', '-b', '16', '-e', 'signed', '-t', 'raw', tmp], { stdio: 'ignore' });
    renameSync(tmp, raw); // atomic: parallel test files may make the same fixture
    rmSync(wav, { force: true });
  }
  const b = readFileSync(raw);
  return bytesToInt16(Buffer.from(b));
}

/** `pcm` with `leadMs` of silence before and `tailMs` after. */
export function padded(pcm: Int16Array, leadMs: number, tailMs: number): Int16Array {
  const lead = Math.round((leadMs * RATE) / 1000);
  const out = new Int16Array(lead + pcm.length + Math.round((tailMs * RATE) / 1000));
  out.set(pcm, lead);
  return out;
}

/** Deterministic pink noise (Paul Kellet's filter over a linear congruential white source). */
export function pinkNoise(n: number, seed = 7): Float64Array {
  const out = new Float64Array(n);
  let x = seed >>> 0 || 1;
  let b0 = 0, b1 = 0, b2 = 0, b3 = 0, b4 = 0, b5 = 0, b6 = 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    const w = x / 2 ** 31 - 1;
    b0 = 0.99886 * b0 + w * 0.0555179;
    b1 = 0.99332 * b1 + w * 0.0750759;
    b2 = 0.969 * b2 + w * 0.153852;
    b3 = 0.8665 * b3 + w * 0.3104856;
    b4 = 0.55 * b4 + w * 0.5329522;
    b5 = -0.7616 * b5 - w * 0.016898;
    out[i] = b0 + b1 + b2 + b3 + b4 + b5 + b6 + w * 0.5362;
    b6 = w * 0.115926;
  }
  return out;
}

/** RMS of the 10 ms frames of `pcm` that are within 30 dB of its loudest: the speech, not the pauses. */
function speechRms(pcm: Int16Array): number {
  const frames: number[] = [];
  for (let i = 0; i + 160 <= pcm.length; i += 160) {
    let e = 0;
    for (let j = i; j < i + 160; j++) e += pcm[j]! * pcm[j]!;
    frames.push(e / 160);
  }
  const max = Math.max(...frames);
  const speech = frames.filter((e) => e > max / 1000);
  return Math.sqrt(speech.reduce((a, b) => a + b, 0) / Math.max(1, speech.length));
}

/** `pcm` with pink noise at `snrDb` below the speech's level, over its whole length (padding too). */
export function withNoise(pcm: Int16Array, snrDb: number, seed = 7): Int16Array {
  const noise = pinkNoise(pcm.length, seed);
  let ne = 0;
  for (const v of noise) ne += v * v;
  const noiseRms = Math.sqrt(ne / noise.length);
  const gain = speechRms(pcm) / 10 ** (snrDb / 20) / noiseRms;
  const out = new Int16Array(pcm.length);
  for (let i = 0; i < pcm.length; i++) out[i] = Math.max(-32768, Math.min(32767, Math.round(pcm[i]! + noise[i]! * gain)));
  return out;
}

/** One past the last sample of speech in clean `pcm` (last 10 ms frame above -45 dBFS). */
export function speechEnd(pcm: Int16Array): number {
  const threshold = 32768 * 10 ** (-45 / 20);
  for (let i = pcm.length - 160; i >= 0; i -= 160) {
    let e = 0;
    for (let j = i; j < i + 160; j++) e += pcm[j]! * pcm[j]!;
    if (Math.sqrt(e / 160) > threshold) return i + 160;
  }
  return 0;
}
