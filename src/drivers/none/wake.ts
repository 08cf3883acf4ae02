/** `none` wake word: never detects. Turns start by button or control socket. */
import type { WakeStatus, WakeWord, WakeWordEvents } from '../../ports/wake-word.js';
import { TypedEmitter } from '../../util/typed-emitter.js';

export class NoWakeWord extends TypedEmitter<WakeWordEvents> implements WakeWord {
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  feed(): void {}
  setGuard(): void {}
  status(): WakeStatus {
    return { available: false, reason: 'wake word disabled (wake.engine: none): use the button or `speaker-agent listen`', keywords: [] };
  }
}
