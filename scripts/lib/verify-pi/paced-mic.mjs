// scripts/verify-pi.sh's microphone: runs on the host and writes 16 kHz mono PCM16 into a FIFO
// that the container's ALSA file plugin reads as its capture input (ALSA's file plugin has no
// clock of its own). One 20 ms block every 20 ms, as a sound card delivers periods: silence,
// or the utterance file after SIGUSR1. Nobody reading: blocks are dropped, as a card would, and
// at most 128 ms wait in the pipe.
//
//   node paced-mic.mjs FIFO UTTERANCE.raw
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

const [fifo, utterancePath] = process.argv.slice(2);
const BLOCK = 640; // 20 ms of 16 kHz mono PCM16
const utterance = fs.readFileSync(utterancePath);
// Read-write: opening never blocks, and readers never see end-of-file.
const open = () => fs.openSync(fifo, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
const sized = open();
// A pipe holds 64 KiB by default: 2 s of audio written while nobody read would wait there, and
// a reader opening later would hear the past (a late utterance, or 2 s of silence instead of
// the utterance being spoken now). One page (4 KiB, 128 ms) is about what a sound card keeps.
// Node has no fcntl: perl (Debian's perl-base is essential) sets F_SETPIPE_SZ (1031) on the
// FIFO handed to it as stdin.
const PIPE_BYTES = 4096;
const setSize = spawnSync('perl', ['-e', `fcntl(STDIN, 1031, ${PIPE_BYTES}) or die "F_SETPIPE_SZ: $!\\n"; print fcntl(STDIN, 1032, 0)`], { stdio: [sized, 'pipe', 'pipe'], encoding: 'utf8' });
process.stdout.write(setSize.status === 0 ? `paced mic: pipe holds ${setSize.stdout} bytes\n` : `paced mic: pipe size unchanged (${(setSize.stderr || String(setSize.error)).trim()})\n`);
// Writes go through a second opening: handing a descriptor to a child makes its open file
// blocking (libuv clears O_NONBLOCK on the shared description), and a blocked writer would
// pile the due blocks up and deliver them late in a burst. `sized` stays open with it.
const fd = open();
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
