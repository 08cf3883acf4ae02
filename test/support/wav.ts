import { writeFileSync } from 'node:fs';
import { int16ToBytes, wavHeader } from '../../src/audio/wav.js';

/** Writes mono PCM16 as a WAV file. */
export function writeWav(file: string, pcm: Int16Array, sampleRate: number, channels = 1): void {
  const data = int16ToBytes(pcm);
  writeFileSync(file, Buffer.concat([wavHeader({ sampleRate, channels }, data.length), data]));
}
