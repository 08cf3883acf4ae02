/**
 * A wake word the test fires with `detect()`. Strict, like serialport's mock binding: feeding
 * or firing an engine that is not started is a mistake in the set-up and throws (a stopped
 * engine hears nothing), and so does a feed with a sample index that is not a whole number.
 */
import type { KeywordChoices, WakeStatus, WakeWord, WakeWordEvents } from '../../src/ports/wake-word.js';
import { TypedEmitter } from '../../src/util/typed-emitter.js';

export class FakeWake extends TypedEmitter<WakeWordEvents> implements WakeWord {
  guarded = false;
  /** Samples fed since the fake was made. */
  fed = 0;
  #started = false;
  /** One past the last sample index fed. */
  #end = 0;
  #status: WakeStatus = { available: true, keywords: ['fake'] };
  /** Keyword ids `setKeyword` accepts (the first is active at first), label = id with spaces. */
  readonly choices: string[] = ['fake', 'other_word'];
  #active = 'fake';

  get started(): boolean {
    return this.#started;
  }
  /** Idempotent. */
  async start(): Promise<void> {
    this.#started = true;
  }
  /** Idempotent; safe before start. */
  async stop(): Promise<void> {
    this.#started = false;
  }
  feed(pcm: Int16Array, sampleIndex: number): void {
    this.#require('feed');
    if (!Number.isInteger(sampleIndex) || sampleIndex < 0) {
      throw new Error(`FakeWake.feed(): sampleIndex must be a whole number >= 0, got ${sampleIndex}`);
    }
    this.fed += pcm.length;
    this.#end = sampleIndex + pcm.length;
  }
  /** Any time: the session sets the guard whatever the engine is doing. */
  setGuard(guarded: boolean): void {
    this.guarded = guarded;
  }
  status(): WakeStatus {
    return { ...this.#status, keywords: [...this.#status.keywords] };
  }
  /** Reports a detection; by default at the end of what was fed. */
  detect(keyword = this.#status.keywords[0] ?? 'fake', sampleIndex = this.#end): void {
    this.#require('detect');
    this.emit('detected', { keyword, sampleIndex });
  }
  keywordChoices(): KeywordChoices {
    return { available: this.choices.map((id) => ({ id, label: id.replace(/_/g, ' ') })), active: [this.#active], maxActive: 1 };
  }
  /** Any time, like the engines; an id not in `choices` rejects and changes nothing. */
  async setKeyword(id: string): Promise<void> {
    if (!this.choices.includes(id)) throw new Error(`FakeWake.setKeyword(): no keyword "${id}" (choices: ${this.choices.join(', ')})`);
    this.#active = id;
    this.#status = { ...this.#status, keywords: [id.replace(/_/g, ' ')] };
    this.emit('status', this.status());
  }
  setStatus(status: WakeStatus): void {
    this.#status = status;
    this.emit('status', this.status());
  }

  #require(what: string): void {
    if (!this.#started) throw new Error(`FakeWake.${what}(): the wake engine is not started: call start() first (a stopped engine hears nothing)`);
  }
}
