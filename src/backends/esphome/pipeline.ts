/**
 * One voice pipeline run in Home Assistant, from the satellite's side (docs/backends.md,
 * "esphome"). The agent's turn opens it with `VoiceAssistantRequest(start)`; microphone audio
 * goes up as `VoiceAssistantAudio` once Home Assistant answered with `VoiceAssistantResponse`;
 * the local end of speech sends `VoiceAssistantAudio(end)` (Home Assistant finishes the run),
 * an abandoned turn sends `VoiceAssistantRequest(start: false)` (it aborts). Home Assistant's
 * pipeline events become backend events: STT_END the final transcript, TTS_START the reply
 * text, TTS_END the reply URL (fetched and played as it arrives), INTENT_END's
 * `continue_conversation` the follow-up prompt, RUN_END the end of the reply, ERROR a turn error.
 */
import { errorMessage } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import { int16ToBytes } from '../../audio/wav.js';
import { TimerSlot, type Scheduler } from '../../util/clock.js';
import type { Fields } from './proto.js';
import { streamUrl, type Emit, type FetchLimits } from './reply-url.js';

/** aioesphomeapi's VoiceAssistantEventType values. */
export const VA_EVENT = {
  ERROR: 0,
  RUN_START: 1,
  RUN_END: 2,
  STT_START: 3,
  STT_END: 4,
  INTENT_START: 5,
  INTENT_END: 6,
  TTS_START: 7,
  TTS_END: 8,
  WAKE_WORD_START: 9,
  WAKE_WORD_END: 10,
  STT_VAD_START: 11,
  STT_VAD_END: 12,
  TTS_STREAM_START: 98,
  TTS_STREAM_END: 99,
  INTENT_PROGRESS: 100,
} as const;

/** Samples per VoiceAssistantAudio message (32 ms, as Home Assistant itself chunks TTS audio). */
const CHUNK_SAMPLES = 512;
/** Audio held until Home Assistant accepts the run: 5 s at 16 kHz; older audio is dropped. */
const MAX_PENDING_SAMPLES = 80_000;

export interface RunDeps {
  turnId: string;
  /** Sends a message to Home Assistant's connection; false when it is gone. */
  send(name: string, fields: Fields): boolean;
  emit: Emit;
  fetch: FetchLimits;
  log: Logger;
  clock: Scheduler;
  /** How long Home Assistant may take to accept the run. */
  startTimeoutMs: number;
  /** Home Assistant named the conversation (sent with the next request). */
  onConversationId(id: string): void;
  /** The run is over (reply ended, failed, or aborted). */
  onDone(): void;
}

type AudioState = 'waiting' | 'streaming' | 'closed';

export class VoiceRun {
  readonly turnId: string;
  readonly #d: RunDeps;
  #audio: AudioState = 'waiting';
  /** The user finished before Home Assistant accepted the run: the held audio goes, then the end. */
  #endPending = false;
  #pending: Int16Array[] = [];
  #pendingSamples = 0;
  #ttsUrl: string | undefined;
  #fetch: Promise<void> | undefined;
  readonly #abort = new AbortController();
  #prompt = false;
  #runEnded = false;
  #done = false;
  readonly #startTimer: TimerSlot;

  constructor(deps: RunDeps, request: Fields) {
    this.#d = deps;
    this.turnId = deps.turnId;
    this.#startTimer = new TimerSlot(deps.clock);
    if (!deps.send('VoiceAssistantRequest', { start: true, ...request })) {
      throw new Error('Home Assistant is not connected');
    }
    this.#startTimer.set(
      () => this.#fail(`Home Assistant did not start a pipeline run within ${deps.startTimeoutMs} ms (check the device's Assist pipeline)`),
      deps.startTimeoutMs,
    );
  }

  get done(): boolean {
    return this.#done;
  }

  /** Home Assistant's answer to the request: the run exists (or could not be started). */
  accepted(fields: Fields): void {
    if (this.#done || this.#audio !== 'waiting') return;
    this.#startTimer.clear();
    if (fields.error) {
      this.#fail('Home Assistant could not start the pipeline run');
      return;
    }
    this.#audio = 'streaming';
    for (const pcm of this.#pending) this.#sendPcm(pcm);
    this.#pending = [];
    this.#pendingSamples = 0;
    if (this.#endPending) this.endAudio();
  }

  audio(pcm: Int16Array): void {
    if (this.#done) return;
    if (this.#audio === 'streaming') {
      this.#sendPcm(pcm);
    } else if (this.#audio === 'waiting') {
      this.#pending.push(pcm.slice());
      this.#pendingSamples += pcm.length;
      while (this.#pendingSamples > MAX_PENDING_SAMPLES && this.#pending.length > 1) this.#pendingSamples -= this.#pending.shift()!.length;
    }
  }

  /** The user finished speaking: Home Assistant processes what it has. */
  endAudio(): void {
    if (this.#done || this.#audio === 'closed') return;
    if (this.#audio === 'waiting') {
      this.#endPending = true;
      return;
    }
    this.#audio = 'closed';
    this.#d.send('VoiceAssistantAudio', { end: true });
  }

  /** The turn is abandoned: Home Assistant aborts the run; nothing more is emitted for it. */
  cancel(): void {
    if (this.#done) return;
    this.#d.send('VoiceAssistantRequest', { start: false });
    this.#finish();
  }

  /** Home Assistant went away: the run cannot go on (the session reports the disconnection). */
  drop(): void {
    this.#finish();
  }

  event(type: number, data: Record<string, string>): void {
    if (this.#done) return;
    switch (type) {
      case VA_EVENT.RUN_START:
        // Streaming TTS: the URL is known before the text is, and may be fetched early.
        if (data.url) this.#ttsUrl = data.url;
        return;
      case VA_EVENT.STT_VAD_END:
        // Home Assistant heard the end of speech: stop sending, the transcript follows.
        this.#audio = 'closed';
        this.#pending = [];
        return;
      case VA_EVENT.STT_END:
        this.#audio = 'closed';
        this.#d.emit('transcript', { turnId: this.turnId, text: data.text ?? '', final: true });
        return;
      case VA_EVENT.INTENT_PROGRESS:
        if (data.tts_start_streaming === '1' || data.tts_start_streaming === 'True') this.#play(this.#ttsUrl);
        return;
      case VA_EVENT.INTENT_END:
        if (data.conversation_id) this.#d.onConversationId(data.conversation_id);
        if (data.continue_conversation === '1') this.#prompt = true;
        return;
      case VA_EVENT.TTS_START:
        if (data.text) this.#d.emit('replyText', { turnId: this.turnId, text: data.text });
        return;
      case VA_EVENT.TTS_END:
        this.#play(data.url || this.#ttsUrl);
        return;
      case VA_EVENT.RUN_END:
        this.#runEnded = true;
        this.#audio = 'closed';
        if (!this.#fetch) this.#end();
        return;
      case VA_EVENT.ERROR: {
        const code = data.code ?? 'error';
        const message = data.message ?? 'pipeline error';
        this.#fail(`Home Assistant: ${message} (${code})`);
        return;
      }
      default:
        this.#d.log.debug('esphome-pipeline-event', { turnId: this.turnId, type });
    }
  }

  #play(url: string | undefined): void {
    if (!url || this.#fetch) return;
    const started = Date.now();
    this.#fetch = streamUrl(url, this.turnId, this.#d.emit, this.#d.fetch, this.#abort.signal).then(
      () => this.#d.log.debug('esphome-reply-fetched', { turnId: this.turnId, ms: Date.now() - started }),
      (err: unknown) => {
        if (this.#abort.signal.aborted) return;
        this.#d.log.warn('esphome-reply-fetch-failed', { turnId: this.turnId, error: errorMessage(err) });
        this.#d.emit('turnError', { turnId: this.turnId, message: `cannot play the reply: ${errorMessage(err)}` });
      },
    );
    void this.#fetch.then(() => {
      if (this.#runEnded) this.#end();
    });
  }

  #sendPcm(pcm: Int16Array): void {
    for (let i = 0; i < pcm.length; i += CHUNK_SAMPLES) {
      if (!this.#d.send('VoiceAssistantAudio', { data: int16ToBytes(pcm.subarray(i, i + CHUNK_SAMPLES)) })) return;
    }
  }

  /** The whole reply is here: the session plays it out and opens a follow-up when asked. */
  #end(): void {
    if (this.#done) return;
    this.#d.emit('replyEnd', { turnId: this.turnId, prompt: this.#prompt });
    this.#finish();
  }

  #fail(message: string): void {
    if (this.#done) return;
    this.#d.log.warn('esphome-pipeline-error', { turnId: this.turnId, error: message });
    this.#d.emit('turnError', { turnId: this.turnId, message });
    this.#finish();
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    this.#startTimer.clear();
    this.#abort.abort();
    this.#d.onDone();
  }
}
