/**
 * Test helper: a private ALSA configuration built from the `file` plugin over the `null` PCM
 * (see shared notes, testing.md), so naudiodon and `speaker` run their real native code on a
 * machine without a sound card. Capture PCMs read raw fixture files; playback PCMs write files.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface AlsaEnv {
  dir: string;
  /** Environment for helper processes: HOME points at the directory holding .asoundrc. */
  env: NodeJS.ProcessEnv;
  path(name: string): string;
  cleanup(): void;
}

/**
 * Creates `.asoundrc` in a temp dir. `capture` maps PCM name -> raw input file name, `playback`
 * maps PCM name -> raw output file name. `default` plays into `default-out.raw` and captures
 * from the first capture PCM.
 */
export function makeAlsaEnv(capture: Record<string, string>, playback: Record<string, string>): AlsaEnv {
  const dir = mkdtempSync(join(tmpdir(), 'sa-alsa-'));
  const p = (n: string) => join(dir, n);
  const lines: string[] = [];
  const firstIn = Object.keys(capture)[0] ?? 'null';
  lines.push(`pcm.!default { type asym; playback.pcm "defout"; capture.pcm "${firstIn}" }`);
  lines.push(`pcm.defout { type file; slave.pcm "null"; file "${p('default-out.raw')}"; format "raw" }`);
  for (const [name, file] of Object.entries(capture)) {
    lines.push(`pcm.${name} { type file; slave.pcm "null"; file "/dev/null"; infile "${p(file)}"; format "raw" }`);
  }
  for (const [name, file] of Object.entries(playback)) {
    lines.push(`pcm.${name} { type file; slave.pcm "null"; file "${p(file)}"; format "raw" }`);
  }
  writeFileSync(p('.asoundrc'), lines.join('\n') + '\n');
  return {
    dir,
    env: { ...process.env, HOME: dir },
    path: p,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Deterministic test signal: a sweep plus a little pseudo-random noise, `seconds` long. */
export function testSignal(rate: number, seconds: number, seed = 1, freq0 = 200): Int16Array {
  const n = Math.round(rate * seconds);
  const out = new Int16Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    const t = i / rate;
    const f = freq0 + 3000 * t;
    out[i] = Math.round(9000 * Math.sin(2 * Math.PI * f * t) + ((s % 2001) - 1000));
  }
  return out;
}

/** Interleaves mono channels into one PCM16 array. */
export function interleave(...channels: Int16Array[]): Int16Array {
  const n = Math.min(...channels.map((c) => c.length));
  const out = new Int16Array(n * channels.length);
  for (let i = 0; i < n; i++) for (let c = 0; c < channels.length; c++) out[i * channels.length + c] = channels[c]![i]!;
  return out;
}

export function toBuffer(pcm: Int16Array): Buffer {
  return Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength);
}
