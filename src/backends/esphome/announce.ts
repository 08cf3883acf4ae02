/**
 * Replies Home Assistant starts by itself (docs/backends.md, "esphome"): announcements
 * (`VoiceAssistantAnnounceRequest`, with an optional preannounce sound, and with
 * `start_conversation` the follow-up listening that makes "start conversation" work) and media
 * URLs played through the media player entity. Each becomes an unsolicited reply with its own
 * turn id, played when the speaker is free (the session plays unsolicited replies while idle).
 * `PlaybackWatch` tells when such a reply (or a pipeline run's spoken answer) has finished
 * playing, which Home Assistant waits for as `VoiceAssistantAnnounceFinished`.
 */
import { errorMessage } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import type { TurnId } from '../../ports/backend.js';
import type { HostState, SatelliteHost } from './host.js';
import { streamUrl, type Emit, type FetchLimits } from './reply-url.js';

/** Follows the host's phase: a watched turn is done once it played and the phase moved on. */
export class PlaybackWatch {
  #host: SatelliteHost | undefined;
  readonly #watched = new Map<string, { seen: boolean; done: (played: boolean) => void }>();

  attach(host: SatelliteHost): void {
    this.#host = host;
    host.on('state', (s) => this.#onState(s));
  }

  get host(): SatelliteHost | undefined {
    return this.#host;
  }

  /** True when the speaker is free for an unsolicited reply (no host: always). */
  idle(): boolean {
    return !this.#host || this.#host.state().phase === 'idle';
  }

  /** Is `turnId` what the session is playing right now? */
  playing(turnId: TurnId): boolean {
    const s = this.#host?.state();
    return !!s && s.phase === 'speaking' && s.turnId === turnId;
  }

  /** Calls `done(played)` once `turnId` has finished playing (see `settle` for one that never played). */
  watch(turnId: string, done: (played: boolean) => void): void {
    this.#watched.set(turnId, { seen: this.playing(turnId), done });
  }

  /**
   * The reply's audio is all emitted: if it never reached the speaker, it is done (not played).
   * Without a host nothing tells when playback ends: the reply counts as played now.
   */
  settle(turnId: string): void {
    const w = this.#watched.get(turnId);
    if (!w) return;
    if (!this.#host) {
      this.#watched.delete(turnId);
      w.done(true);
    } else if (!w.seen && !this.playing(turnId)) {
      this.#watched.delete(turnId);
      w.done(false);
    }
  }

  #onState(s: HostState): void {
    for (const [id, w] of [...this.#watched]) {
      const now = s.phase === 'speaking' && s.turnId === id;
      if (now) w.seen = true;
      else if (w.seen) {
        this.#watched.delete(id);
        w.done(true);
      }
    }
    if (s.phase === 'idle') this.onIdle?.();
  }

  /** Called whenever the host becomes idle (the announcer's queue listens). */
  onIdle: (() => void) | undefined;
}

export interface AnnounceJob {
  urls: string[];
  text: string;
  /** Listen for an answer afterwards (start conversation). */
  prompt: boolean;
  /** Called once with whether it played; Home Assistant is told for announcements. */
  finished(success: boolean): void;
}

export interface AnnouncerDeps {
  emit: Emit;
  watch: PlaybackWatch;
  fetch: FetchLimits;
  log: Logger;
  /** How long a job may wait for the speaker before it is dropped (Home Assistant gives up after 5 minutes). */
  maxWaitMs: number;
}

export class Announcer {
  readonly #d: AnnouncerDeps;
  readonly #queue: (AnnounceJob & { id: string; queuedAt: number })[] = [];
  #current: { id: string; abort: AbortController } | undefined;
  #seq = 0;

  constructor(deps: AnnouncerDeps) {
    this.#d = deps;
    deps.watch.onIdle = () => this.#next();
  }

  enqueue(job: AnnounceJob): string {
    const id = `announce-${++this.#seq}`;
    this.#queue.push({ ...job, id, queuedAt: Date.now() });
    this.#d.log.info('esphome-announcement', { id, urls: job.urls.length, startConversation: job.prompt, queued: this.#queue.length });
    this.#next();
    return id;
  }

  /** Drops everything (Home Assistant went away, or the agent stops). */
  clear(): void {
    this.#current?.abort.abort();
    for (const job of this.#queue.splice(0)) job.finished(false);
  }

  #next(): void {
    const now = Date.now();
    while (this.#queue.length && now - this.#queue[0]!.queuedAt > this.#d.maxWaitMs) {
      const stale = this.#queue.shift()!;
      this.#d.log.warn('esphome-announcement-dropped', { id: stale.id, reason: `the speaker was busy for ${this.#d.maxWaitMs} ms` });
      stale.finished(false);
    }
    if (this.#current || !this.#queue.length || !this.#d.watch.idle()) return;
    void this.#play(this.#queue.shift()!);
  }

  async #play(job: AnnounceJob & { id: string }): Promise<void> {
    const abort = new AbortController();
    this.#current = { id: job.id, abort };
    const { emit, watch } = this.#d;
    let finished = false;
    const finish = (success: boolean) => {
      if (finished) return;
      finished = true;
      job.finished(success);
    };
    // Stopped by the user (a press, the wake word): the rest is not fetched.
    watch.watch(job.id, (played) => {
      if (this.#current?.id === job.id) abort.abort();
      finish(played);
    });
    if (job.text) emit('replyText', { turnId: job.id, text: job.text });
    let ok = true;
    for (const url of job.urls) {
      if (abort.signal.aborted) break;
      try {
        await streamUrl(url, job.id, emit, this.#d.fetch, abort.signal);
      } catch (err) {
        if (abort.signal.aborted) break;
        ok = false;
        this.#d.log.warn('esphome-announcement-failed', { id: job.id, error: errorMessage(err) });
        emit('turnError', { turnId: job.id, message: `cannot play the announcement: ${errorMessage(err)}` });
        break;
      }
    }
    emit('replyEnd', { turnId: job.id, prompt: ok && job.prompt });
    watch.settle(job.id);
    if (!ok) finish(false);
    this.#current = undefined;
    this.#next();
  }
}
