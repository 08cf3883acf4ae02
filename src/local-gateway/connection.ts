/** One device connected to the local gateway (./server.ts): its socket, conversation and activity. */
import type { WebSocket } from 'ws';
import type { Conversation } from './assistant.js';
import type { Listening } from './listening.js';

/** One device connection and its conversation. */
export class Client {
  readonly conv: Conversation = {};
  readonly pending = new Map<string, Listening>();
  /** Requests being answered (transcript awaited, reply being made or streamed). */
  busy = 0;
  /** performance.now() when the last reply has finished playing on the device (an estimate). */
  playingUntil = 0;

  constructor(
    readonly ws: WebSocket,
    private readonly gapMs: number,
  ) {}

  get open(): boolean {
    return this.ws.readyState === this.ws.OPEN;
  }

  idle(): boolean {
    return this.pending.size === 0 && this.busy === 0 && performance.now() >= this.playingUntil + this.gapMs;
  }
}

