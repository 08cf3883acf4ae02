/**
 * Replies whose audio comes by URL (docs/protocol.md "Reply audio by URL"): a gateway `text`
 * message may carry a `voice` field, the URL of the reply audio, instead of (or as well as)
 * streaming it. The download starts at once; whichever arrives first plays: the fetched audio, or
 * audio the gateway streams for the same id. Until that is decided the gateway's own
 * `audio_start`/`audio_end` for the id are held here, so the player never sees an empty stream.
 */
import { CanceledError, errorMessage } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { describeUrl, fetchAudio, type FetchAudioOptions } from '../net/fetch-audio.js';
import type { BackendEvents, PromptValue, ReplyFormat } from '../ports/backend.js';

type Emit = <K extends keyof BackendEvents>(event: K, ...args: BackendEvents[K]) => void;

interface Entry {
  id: string;
  url: string;
  /** `fetching`: nothing played yet; `fetched`: the download plays; `streamed`: the gateway's audio plays. */
  phase: 'fetching' | 'fetched' | 'streamed' | 'done';
  abort: AbortController;
  textPrompt: PromptValue | undefined;
  /** The gateway's own audio_start for this id, held. */
  gatewayFormat: ReplyFormat | undefined;
  /** The gateway's audio_end arrived (with this prompt). */
  gatewayEnded: boolean;
  gatewayPrompt: PromptValue;
  droppedLogged: boolean;
}

/** Replies remembered after they ended, so a late audio_end or audio_data for them is swallowed. */
const KEEP_DONE = 16;

export class VoiceReplies {
  readonly #entries = new Map<string, Entry>();

  constructor(
    private readonly emit: Emit,
    private readonly log: Logger,
    /** Fetch settings; read on each download (the CA file may change). */
    private readonly fetchOptions: () => Omit<FetchAudioOptions, 'signal'>,
  ) {}

  /** True when the audio of reply `id` is managed here (fetching, playing or just finished). */
  owns(id: string | null): id is string {
    return id !== null && this.#entries.has(id);
  }

  /** A `text` with a `voice` URL for reply `id`: start the download. A second one for the same id is ignored. */
  begin(id: string, url: string, textPrompt: PromptValue | undefined): void {
    if (this.#entries.has(id)) return;
    const entry: Entry = {
      id,
      url,
      phase: 'fetching',
      abort: new AbortController(),
      textPrompt,
      gatewayFormat: undefined,
      gatewayEnded: false,
      gatewayPrompt: false,
      droppedLogged: false,
    };
    this.#entries.set(id, entry);
    this.#trim();
    this.log.info('voice-fetch', { turnId: id, url: describeUrl(url) });
    const sink = {
      start: (format: ReplyFormat) => {
        if (entry.phase !== 'fetching') throw new CanceledError('the gateway streamed this reply itself');
        entry.phase = 'fetched';
        this.emit('replyAudioStart', { turnId: id, format });
      },
      data: (chunk: Buffer) => {
        if (entry.phase === 'fetched') this.emit('replyAudio', { turnId: id, data: chunk });
      },
      end: () => {
        if (entry.phase === 'fetched') this.#finish(entry);
      },
    };
    fetchAudio(url, sink, { ...this.fetchOptions(), signal: entry.abort.signal }).catch((err: unknown) => this.#failed(entry, err));
  }

  /** The gateway's `audio_start` for an owned reply: held until it is known what plays. */
  gatewayStart(id: string, format: ReplyFormat): void {
    const e = this.#entries.get(id);
    if (e) e.gatewayFormat = format;
  }

  /** Audio the gateway streams for an owned reply: it plays if the download has not started playing. */
  gatewayAudio(id: string, data: Buffer): void {
    const e = this.#entries.get(id);
    if (!e) return;
    if (e.phase === 'fetching') {
      e.phase = 'streamed';
      e.abort.abort();
      this.log.info('voice-fetch-skipped', { turnId: id, reason: 'the gateway streamed the reply audio first' });
      this.emit('replyAudioStart', { turnId: id, format: e.gatewayFormat ?? { codec: 'unknown' } });
    }
    if (e.phase === 'streamed') {
      this.emit('replyAudio', { turnId: id, data });
      return;
    }
    if (e.phase === 'fetched' && !e.droppedLogged) {
      e.droppedLogged = true;
      this.log.info('streamed-audio-ignored', { turnId: id, reason: 'the reply plays from its voice URL' });
    }
  }

  /** The gateway's `audio_end` for an owned reply. */
  gatewayEnd(id: string, prompt: PromptValue): void {
    const e = this.#entries.get(id);
    if (!e) return;
    e.gatewayEnded = true;
    e.gatewayPrompt = prompt;
    if (e.phase === 'streamed') {
      this.emit('replyAudioEnd', { turnId: id });
      this.emit('replyEnd', { turnId: id, prompt: merge(e.textPrompt, prompt) });
      e.phase = 'done';
    }
    // Fetching or playing the download: its end ends the reply. Done already: nothing more.
    if (e.phase === 'done') this.#entries.delete(id);
  }

  /** The turn was abandoned (barge-in, stop): stop its download. */
  cancel(id: string): void {
    const e = this.#entries.get(id);
    if (!e) return;
    e.abort.abort();
    e.phase = 'done';
  }

  /** Stops every download (the client stops). */
  clear(): void {
    for (const e of this.#entries.values()) e.abort.abort();
    this.#entries.clear();
  }

  #finish(e: Entry): void {
    e.phase = 'done';
    this.emit('replyAudioEnd', { turnId: e.id });
    this.emit('replyEnd', { turnId: e.id, prompt: merge(e.textPrompt, e.gatewayEnded ? e.gatewayPrompt : false) });
    if (e.gatewayEnded) this.#entries.delete(e.id);
  }

  #failed(e: Entry, err: unknown): void {
    if (err instanceof CanceledError || e.phase === 'streamed' || e.phase === 'done') return;
    const message = errorMessage(err);
    this.log.warn('voice-fetch-failed', { turnId: e.id, error: message });
    if (e.phase === 'fetched') {
      // Part of it played: end the reply with what arrived.
      this.#finish(e);
      return;
    }
    e.phase = 'done';
    if (e.gatewayEnded) this.#entries.delete(e.id);
    this.emit('turnError', { turnId: e.id, message: `the reply audio could not be played: ${message}` });
  }

  #trim(): void {
    if (this.#entries.size <= KEEP_DONE) return;
    for (const [id, e] of this.#entries) {
      if (this.#entries.size <= KEEP_DONE) return;
      if (e.phase === 'done') this.#entries.delete(id);
    }
  }
}

function merge(a: PromptValue | undefined, b: PromptValue): PromptValue {
  return b !== false ? b : (a ?? false);
}
