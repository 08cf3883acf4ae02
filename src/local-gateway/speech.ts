/**
 * Reply audio for the bundled local gateway: speech from espeak-ng when it is installed,
 * otherwise a short two-tone chime (clearly not speech). PCM 16 kHz mono, or MP3 via lame.
 */
import { spawn, spawnSync } from 'node:child_process';
import { CORE_FORMAT } from '../audio/format.js';
import { toMono } from '../audio/pcm.js';
import { Resampler } from '../audio/resample.js';
import { bytesToInt16, int16ToBytes, parseWav } from '../audio/wav.js';

export type SpeechEngine = 'espeak-ng' | 'tone';

/** Which engine this machine has. Checked once per gateway. */
export function detectSpeechEngine(): SpeechEngine {
  const r = spawnSync('espeak-ng', ['--version'], { stdio: 'ignore' });
  return r.status === 0 ? 'espeak-ng' : 'tone';
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

/** Synthesises `text` to 16 kHz mono PCM. */
export async function synthesize(text: string, engine: SpeechEngine): Promise<Int16Array> {
  if (engine === 'tone') return toneFor(text);
  const wav = await run('espeak-ng', ['--stdout', '-v', 'en-us', '-s', '165', text]);
  const parsed = parseWav(wav);
  const pcm = toMono(bytesToInt16(Buffer.from(wav.subarray(parsed.dataOffset, parsed.dataOffset + parsed.dataBytes))), parsed.format.channels);
  return new Resampler(parsed.format.sampleRate, CORE_FORMAT.sampleRate).process(pcm);
}

/** Encodes 16 kHz mono PCM to MP3 (32 kbps) with the lame binary node-lame resolves. */
export async function encodeMp3(pcm: Int16Array): Promise<Buffer> {
  const { resolveLameBinary } = await import('node-lame');
  const lame = resolveLameBinary();
  return run(lame, ['--quiet', '-r', '-s', '16', '--bitwidth', '16', '--signed', '--little-endian', '-m', 'm', '-b', '32', '-', '-'], int16ToBytes(pcm));
}
