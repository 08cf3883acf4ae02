// scripts/verify-pi.sh's microphone: runs on the host and writes 16 kHz mono PCM16 into a FIFO
// that the container's ALSA file plugin reads as its capture input (ALSA's file plugin has no
// clock of its own). One 20 ms block every 20 ms, as a sound card delivers periods: silence,
// or the utterance file after SIGUSR1. Nobody reading: blocks are dropped, as a card would.
//
//   node paced-mic.mjs FIFO UTTERANCE.raw
import fs from 'node:fs';

const [fifo, utterancePath] = process.argv.slice(2);
const BLOCK = 640; // 20 ms of 16 kHz mono PCM16
const utterance = fs.readFileSync(utterancePath);
// Read-write: opening never blocks, and readers never see end-of-file.
const fd = fs.openSync(fifo, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
const silence = Buffer.alloc(BLOCK);
let speaking;
let offset = 0;
let dropped = 0;
process.on('SIGUSR1', () => {
  speaking = utterance;
  offset = 0;
  process.stdout.write(`speaking ${utterance.length / 32000} s\n`);
});
process.on('SIGTERM', () => {
  process.stdout.write(`paced mic: ${sent} blocks, ${dropped} dropped while nobody read\n`);
  process.exit(0);
});
const t0 = performance.now();
let sent = 0;
function tick() {
  const due = Math.floor((performance.now() - t0) / 20);
  for (; sent < due; sent++) {
    let block = silence;
    if (speaking) {
      block = Buffer.alloc(BLOCK);
      speaking.copy(block, 0, offset, offset + BLOCK);
      offset += BLOCK;
      if (offset >= speaking.length) speaking = undefined;
    }
    try {
      fs.writeSync(fd, block);
    } catch (err) {
      if (err.code !== 'EAGAIN') throw err;
      dropped++;
    }
  }
  setTimeout(tick, 10);
}
tick();
