/**
 * The pipe a capture tool writes its PCM into, read by the event loop straight into one reused
 * buffer (net.Socket's `onread`): no readable-stream machinery and no new buffer per read, 50
 * reads a second for as long as the agent runs (docs/benchmarks.md, the process tree). It is a
 * FIFO made in a private directory that is removed at once: only the two open ends remain.
 * The tool gets the write end as its stdout and the agent keeps none, so the reader sees the end
 * of the stream when the tool exits.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, rmSync } from 'node:fs';
import { Socket, type OnReadOpts, type SocketConstructorOpts } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PcmPipe {
  /** The write end, for the tool's stdout; close it (`handedOver`) once the tool has it. */
  readonly writeFd: number;
  /** The read end, as a socket: 'end' when the tool exits, 'error' if the pipe fails. */
  readonly socket: Socket;
  /** Closes the parent's copy of the write end (after spawning the tool). */
  handedOver(): void;
  /** Closes the read end. */
  close(): void;
}

/**
 * Opens a pipe whose every chunk goes to `onChunk` as a view of one reused buffer: valid only
 * during the call (copy what must be kept). Throws when no FIFO can be made (no `mkfifo`, no
 * writable temporary directory).
 */
export function openPcmPipe(onChunk: (chunk: Buffer) => void, bufferBytes = 65536): PcmPipe {
  const dir = mkdtempSync(join(tmpdir(), 'speaker-agent-pcm-'));
  let readFd = -1;
  let writeFd = -1;
  try {
    const path = join(dir, 'pcm');
    execFileSync('mkfifo', ['-m', '600', path], { stdio: 'ignore' });
    // The reader first, without blocking; then the writer, which finds it and does not block.
    readFd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    writeFd = openSync(path, constants.O_WRONLY);
  } catch (err) {
    if (readFd >= 0) closeSync(readFd);
    throw err;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const buffer = Buffer.alloc(bufferBytes);
  // Node takes \`onread\` in the constructor too (net.js), though its types list it for connect().
  const options: SocketConstructorOpts & { onread: OnReadOpts } = {
    fd: readFd,
    readable: true,
    writable: false,
    onread: {
      buffer,
      callback: (n) => {
        onChunk(buffer.subarray(0, n));
        return true; // keep reading
      },
    },
  };
  const socket = new Socket(options);
  let writeOpen = true;
  return {
    writeFd,
    socket,
    handedOver() {
      if (!writeOpen) return;
      writeOpen = false;
      closeSync(writeFd);
    },
    close() {
      this.handedOver();
      socket.destroy();
    },
  };
}
