/**
 * Offline text-to-speech with the engines Debian packages: flite (fast, voices kal, kal16, awb,
 * rms, slt), festival (the HTS voice cmu_us_slt_arctic_hts, slower and smoother) and espeak-ng
 * (robotic, the fallback). Each is a child process writing a WAV; the result is 16 kHz mono
 * PCM, the rate the agent plays and the gateway streams. Used by the local gateway's replies
 * and by the pipeline backend (`pipeline.tts: flite | festival | espeak-ng`, ./local-tts.ts).
 */
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CORE_FORMAT } from '../audio/format.js';
import { toMono } from '../audio/pcm.js';
import { Resampler } from '../audio/resample.js';
import { bytesToInt16, parseWav } from '../audio/wav.js';
import { CanceledError } from '../errors.js';

export type VoiceEngine = 'flite' | 'festival' | 'espeak-ng';
export const VOICE_ENGINES: readonly VoiceEngine[] = ['flite', 'festival', 'espeak-ng'];

/** The voice each engine uses unless told otherwise. */
export const DEFAULT_VOICES: Record<VoiceEngine, string> = {
  flite: 'slt',
  festival: 'cmu_us_slt_arctic_hts',
  'espeak-ng': 'en-us',
};

/** Debian package(s) that provide each engine, for messages. */
export const VOICE_PACKAGES: Record<VoiceEngine, string> = {
  flite: 'flite',
  festival: 'festival festvox-us-slt-hts',
  'espeak-ng': 'espeak-ng',
};

const PROBES: Record<VoiceEngine, [string, string[]]> = {
  flite: ['flite', ['--version']],
  festival: ['text2wave', ['-h']],
  'espeak-ng': ['espeak-ng', ['--version']],
};

/** True when the engine's program runs here. */
export function hasVoiceEngine(engine: VoiceEngine): boolean {
  const [cmd, args] = PROBES[engine];
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  return r.error === undefined && r.status !== null;
}

/** The best engine installed here (flite, then festival, then espeak-ng), or undefined. */
export function detectVoiceEngine(): VoiceEngine | undefined {
  return VOICE_ENGINES.find(hasVoiceEngine);
}

/** Voice names flite has built in (`flite -lv`). */
export function fliteVoices(): string[] {
  const r = spawnSync('flite', ['-lv'], { encoding: 'utf8' });
  return (r.stdout ?? '').replace(/^Voices available:/, '').trim().split(/\s+/).filter(Boolean);
}

/**
 * Checks that `voice` exists for `engine` (flite silently writes nothing for a voice it lacks,
 * festival fails only at the first reply). Returns an error message, or undefined when fine.
 */
export function checkVoice(engine: VoiceEngine, voice: string): string | undefined {
  if (engine === 'flite') {
    const voices = fliteVoices();
    if (voices.length && !voices.includes(voice) && !voice.includes('/')) return `flite has no voice "${voice}" (it has ${voices.join(', ')})`;
  }
  if (!/^[A-Za-z0-9_./+-]+$/.test(voice)) return `"${voice}" is not a voice name`;
  if (engine === 'festival') {
    const voices = festivalVoices();
    if (voices.length && !voices.includes(voice)) return `festival has no voice "${voice}" (it has ${voices.join(', ')})`;
  }
  return undefined;
}

/** Voices installed for festival (Debian: /usr/share/festival/voices/<language>/<voice>). */
export function festivalVoices(root = '/usr/share/festival/voices'): string[] {
  try {
    return readdirSync(root, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .flatMap((d) => readdirSync(path.join(root, d.name)));
  } catch {
    return [];
  }
}

function run(cmd: string, args: string[], input: string | undefined, signal?: AbortSignal): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new CanceledError('speech synthesis canceled'));
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const onAbort = () => child.kill('SIGKILL');
    signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', (e) => {
      signal?.removeEventListener('abort', onAbort);
      reject(e);
    });
    child.on('close', (code) => {
      signal?.removeEventListener('abort', onAbort);
      if (signal?.aborted) reject(new CanceledError('speech synthesis canceled'));
      else if (code === 0) resolve(Buffer.concat(out));
      else reject(new Error(`${cmd} exited ${code}: ${Buffer.concat(err).toString().trim().slice(0, 200)}`));
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

let fileCounter = 0;

/** Festival Scheme for one voice: `(voice_NAME)`. The name was checked to be a plain word. */
function festivalVoice(voice: string): string {
  return `(voice_${voice})`;
}

/**
 * Synthesises `text` to 16 kHz mono PCM. Rejects with CanceledError when `signal` aborts (the
 * child is killed), or an Error naming the engine when it fails or produces no audio.
 */
export async function speak(text: string, engine: VoiceEngine, voice = DEFAULT_VOICES[engine], signal?: AbortSignal): Promise<Int16Array> {
  const bad = checkVoice(engine, voice);
  if (bad) throw new Error(bad);
  let wav: Buffer;
  // flite and text2wave write a file: a child's stdout is a socket, which /dev/stdout cannot open.
  const file = path.join(os.tmpdir(), `speaker-agent-tts-${process.pid}-${++fileCounter}.wav`);
  try {
    switch (engine) {
      case 'flite':
        // Text on the command line (spawn passes it as one argument, no shell).
        await run('flite', ['-voice', voice, '-t', text, '-o', file], undefined, signal);
        wav = await readFile(file);
        break;
      case 'festival':
        await run('text2wave', ['-eval', festivalVoice(voice), '-o', file], text, signal);
        wav = await readFile(file);
        break;
      case 'espeak-ng':
        wav = await run('espeak-ng', ['--stdout', '-v', voice, '-s', '165', text], undefined, signal);
        break;
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && engine !== 'espeak-ng') throw new Error(`${engine} (voice ${voice}) produced no audio`);
    throw err;
  } finally {
    if (engine !== 'espeak-ng') await rm(file, { force: true });
  }
  let parsed;
  try {
    parsed = parseWav(wav);
  } catch (err) {
    throw new Error(`${engine} (voice ${voice}) produced no audio: ${(err as Error).message}`);
  }
  if (!parsed.dataBytes) throw new Error(`${engine} (voice ${voice}) produced no audio`);
  const pcm = toMono(bytesToInt16(Buffer.from(wav.subarray(parsed.dataOffset, parsed.dataOffset + parsed.dataBytes))), parsed.format.channels);
  if (parsed.format.sampleRate === CORE_FORMAT.sampleRate) return pcm;
  const r = new Resampler(parsed.format.sampleRate, CORE_FORMAT.sampleRate);
  const body = r.process(pcm);
  const tail = r.flush();
  const all = new Int16Array(body.length + tail.length);
  all.set(body);
  all.set(tail, body.length);
  return all;
}
