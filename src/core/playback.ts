/**
 * Gives every playback stream on the one speaker its own identity. The output port fires a bare
 * `drained`, and a stream written before the previous one drained joins it (one `drained` covers
 * both: see the AudioOutput port), so an earcon and a reply that overlap share one end. The mux
 * records which streams are on the output and, when it drains, reports each stream that had
 * ended: an earcon's end is never taken for a reply's, and a reply that overlapped an earcon is
 * never left waiting for a `drained` that was the earcon's.
 */
import type { PcmFormat } from '../audio/format.js';
import type { AudioOutput } from '../ports/audio-output.js';
import { TypedEmitter } from '../util/typed-emitter.js';
import type { PlaybackKind } from './state.js';

/** What a producer writes to: one stream at a time; `end()` closes it, the next write opens one. */
export interface PcmSink {
  write(pcm: Buffer, format: PcmFormat): void;
  end(): void;
  /** Cuts playback at once: everything on the output is dropped, with no `ended` for it. */
  stop(): void;
}

export type PlaybackEvents = {
  /** A stream has played to its end, or was lost to an output error (`error` set). */
  ended: [{ id: number; kind: PlaybackKind; error?: string }];
};

interface Stream {
  id: number;
  kind: PlaybackKind;
  ended: boolean;
}

export class PlaybackMux extends TypedEmitter<PlaybackEvents> {
  #seq = 0;
  /** Streams on the output since it last drained, oldest first. */
  #streams: Stream[] = [];
  readonly #open = new Map<PlaybackKind, Stream>();

  constructor(private readonly output: AudioOutput) {
    super();
    output.on('drained', () => this.#settle());
    output.on('error', (e) => this.#settle(e.message));
  }

  /** A sink for one producer (the reply player, the earcons). */
  channel(kind: PlaybackKind): PcmSink {
    return {
      write: (pcm, format) => {
        this.#current(kind);
        this.output.write(pcm, format);
      },
      end: () => {
        const s = this.#current(kind);
        this.#open.delete(kind);
        s.ended = true;
        this.output.end();
      },
      stop: () => {
        this.#open.clear();
        this.#streams = [];
        this.output.stop();
      },
    };
  }

  /** True while a stream of `kind` is on the output. */
  busy(kind: PlaybackKind): boolean {
    return this.#streams.some((s) => s.kind === kind);
  }

  #current(kind: PlaybackKind): Stream {
    let s = this.#open.get(kind);
    if (!s) {
      s = { id: ++this.#seq, kind, ended: false };
      this.#open.set(kind, s);
      this.#streams.push(s);
    }
    return s;
  }

  /** The output drained (or lost what it had): every stream that had ended is over. */
  #settle(error?: string): void {
    const over = this.#streams.filter((s) => s.ended);
    if (over.length === 0) return;
    this.#streams = this.#streams.filter((s) => !s.ended);
    for (const s of over) this.emit('ended', { id: s.id, kind: s.kind, ...(error ? { error } : {}) });
  }
}
