/**
 * Reply audio for the bundled local gateway: speech from the offline voices (flite, festival or
 * espeak-ng, ../speech/voices.ts) when one is installed, otherwise a short two-tone chime
 * (clearly not speech). PCM 16 kHz mono, or MP3 via lame.
 */
import { spawn } from 'node:child_process';
import { CORE_FORMAT } from '../audio/format.js';
import { int16ToBytes } from '../audio/wav.js';
import { detectVoiceEngine, speak, type VoiceEngine } from '../speech/voices.js';

export type SpeechEngine = VoiceEngine | 'tone';
export const SPEECH_ENGINES: readonly SpeechEngine[] = ['flite', 'festival', 'espeak-ng', 'tone'];

/** The best engine this machine has (flite, festival, espeak-ng, else the tone). Checked once per gateway. */
export function detectSpeechEngine(): SpeechEngine {
  return detectVoiceEngine() ?? 'tone';
}

function run(cmd: string, args: string[], input?: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out));
      else reject(new Error(`${cmd} exited ${code}: ${Buffer.concat(err).toString().trim().slice(0, 200)}`));
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

/** A chime standing for speech: ~70 ms per character, 0.4-3 s, two alternating tones. */
export function toneFor(text: string, sampleRate = CORE_FORMAT.sampleRate): Int16Array {
  const seconds = Math.min(3, Math.max(0.4, text.length * 0.07));
  const n = Math.round(seconds * sampleRate);
  const pcm = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    const t = i / sampleRate;
    const f = Math.floor(t / 0.25) % 2 === 0 ? 440 : 660;
    const env = Math.min(1, (n - i) / 800, i / 800);
    pcm[i] = Math.round(Math.sin(2 * Math.PI * f * t) * 8000 * env);
  }
  return pcm;
}

/** Synthesises `text` to 16 kHz mono PCM; `voice` is the engine's voice name (its default when omitted). */
export async function synthesize(text: string, engine: SpeechEngine, voice?: string): Promise<Int16Array> {
  if (engine === 'tone') return toneFor(text);
  return speak(text, engine, voice);
}

/** Encodes 16 kHz mono PCM to MP3 (32 kbps) with the lame binary node-lame resolves. */
export async function encodeMp3(pcm: Int16Array): Promise<Buffer> {
  const { resolveLameBinary } = await import('node-lame');
  const lame = resolveLameBinary();
  return run(lame, ['--quiet', '-r', '-s', '16', '--bitwidth', '16', '--signed', '--little-endian', '-m', 'm', '-b', '32', '-', '-'], int16ToBytes(pcm));
}
