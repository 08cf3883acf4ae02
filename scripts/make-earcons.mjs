#!/usr/bin/env node
// Writes the built-in earcons as WAV files, to listen to them or to start custom ones from:
//   npm run build && node scripts/make-earcons.mjs [out-dir]   (default: ./earcons)
// The agent does not need these files: it synthesises the same sounds in memory.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dist = new URL('../dist/src/audio/', import.meta.url);
let synth, wav;
try {
  synth = await import(new URL('earcon-synth.js', dist).href);
  wav = await import(new URL('wav.js', dist).href);
} catch {
  console.error('make-earcons: build first (npm run build); it uses dist/src/audio/earcon-synth.js');
  process.exit(1);
}
const outDir = process.argv[2] ?? 'earcons';
mkdirSync(outDir, { recursive: true });
for (const name of synth.EARCON_NAMES) {
  const pcm = synth.synthEarcon(name);
  const data = Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength);
  const file = join(outDir, `${name}.wav`);
  writeFileSync(file, Buffer.concat([wav.wavHeader(synth.EARCON_FORMAT, data.length), data]));
  console.log(`${file}  ${(pcm.length / synth.EARCON_FORMAT.sampleRate * 1000).toFixed(0)} ms`);
}
