/** `none` wake word: never detects. Turns start by button or control socket. */
import type { WakeStatus, WakeWord, WakeWordEvents } from '../../ports/wake-word.js';
import { TypedEmitter } from '../../util/typed-emitter.js';

export class NoWakeWord extends TypedEmitter<WakeWordEvents> implements WakeWord {
  /** @param reason why there is no wake word (default: it is disabled in the config) */
  constructor(private readonly reason = 'wake word disabled (wake.engine: none): use the button or `speaker-agent listen`') {
    super();
  }

  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  feed(): void {}
  setGuard(): void {}
  status(): WakeStatus {
    return { available: false, reason: this.reason, keywords: [] };
  }
}
