/**
 * What the ESPHome backend needs from the rest of the agent, and nothing more: the conversation's
 * phase (to know when a reply or announcement has finished playing, and when the speaker is free
 * for a timer's ring), the microphone mute and the volume (Home Assistant's switch and media
 * player), which wake word opened a turn, and the wake word choice (Home Assistant's select). The composition root (src/agent.ts) builds it from
 * the session with `sessionHost`; tests may pass their own.
 */
import type { Session } from '../../core/session.js';
import type { Phase } from '../../core/state.js';
import type { TurnId } from '../../ports/backend.js';
import type { KeywordChoices, WakeWord } from '../../ports/wake-word.js';
import { TypedEmitter } from '../../util/typed-emitter.js';

export interface HostState {
  phase: Phase['kind'];
  /** The turn (or unsolicited reply) of the current phase. */
  turnId: TurnId;
  muted: boolean;
  /** Speaker volume, 0-100. */
  volume: number;
}

export type SatelliteHostEvents = {
  state: [HostState];
};

export interface SatelliteHost extends TypedEmitter<SatelliteHostEvents> {
  state(): HostState;
  setMuted(muted: boolean): void;
  setVolume(percent: number): void;
  /** Stops whatever plays or listens (Home Assistant's media player "stop"). */
  stop(): void;
  /** The keyword that opened the turn being started, or '' when the button or a command did. */
  wakePhrase(): string;
  /** What the wake word engine can detect, what is active, how many at once. */
  wakeWordChoices(): KeywordChoices;
  /**
   * Makes `ids` the active wake words (those the engine knows, up to its maximum); resolves to
   * the active ids afterwards. Rejects, changing nothing, when none can be used.
   */
  setWakeWords(ids: string[]): Promise<string[]>;
}

/** Recent enough for a detection to be the one that opened the turn now starting. */
const WAKE_FRESH_MS = 3000;

class SessionHost extends TypedEmitter<SatelliteHostEvents> implements SatelliteHost {
  /** The volume before the session reports one (it always does once built). */
  readonly #initialVolume: number;
  #lastTrigger: string | undefined;
  #lastKeyword: { keyword: string; at: number } | undefined;
  #last: HostState;

  constructor(
    private readonly session: Session,
    private readonly wake: WakeWord,
    initialVolume: number,
  ) {
    super();
    this.#initialVolume = initialVolume;
    this.#last = this.#snapshot();
    wake.on('detected', (d) => (this.#lastKeyword = { keyword: d.keyword, at: Date.now() }));
    session.on('timeline', (e) => {
      if (e.mark === 'trigger') this.#lastTrigger = String(e.detail?.source ?? '');
    });
    session.on('state', () => this.#changed());
  }

  #snapshot(): HostState {
    const s = this.session.status();
    return { phase: s.phase, turnId: s.turnId, muted: s.muted, volume: s.volume ?? this.#initialVolume };
  }

  #changed(): void {
    const next = this.#snapshot();
    const l = this.#last;
    if (next.phase === l.phase && next.turnId === l.turnId && next.muted === l.muted && next.volume === l.volume) return;
    this.#last = next;
    this.emit('state', next);
  }

  state(): HostState {
    return this.#snapshot();
  }

  setMuted(muted: boolean): void {
    this.session.setMuted(muted);
  }

  setVolume(percent: number): void {
    // The session owns the volume; its `state` event tells Home Assistant (and MQTT) the new one.
    this.session.setVolume(Math.max(0, Math.min(100, Math.round(percent))));
  }

  stop(): void {
    this.session.stopAll();
  }

  wakePhrase(): string {
    if (this.#lastTrigger !== 'wake') return '';
    const k = this.#lastKeyword;
    if (k && Date.now() - k.at < WAKE_FRESH_MS) return k.keyword;
    return this.wake.status().keywords[0] ?? '';
  }

  wakeWordChoices(): KeywordChoices {
    if (this.wake.keywordChoices) return this.wake.keywordChoices();
    // An engine that cannot switch (Porcupine, none) offers what it listens for, and only that.
    const words = this.wake.status().keywords;
    return { available: words.map((w) => ({ id: w, label: w })), active: words, maxActive: words.length };
  }

  async setWakeWords(ids: string[]): Promise<string[]> {
    const choices = this.wakeWordChoices();
    const known = ids.filter((id) => choices.available.some((a) => a.id === id));
    if (known.length === 0) throw new Error(`no wake word this engine can detect among [${ids.join(', ')}] (it can: ${choices.available.map((a) => a.id).join(', ') || 'none'})`);
    const want = known.slice(0, Math.max(1, choices.maxActive));
    if (same(want, choices.active)) return choices.active;
    if (!this.wake.setKeyword || want.length !== 1) throw new Error(`the ${this.wake.status().engine ?? 'wake word'} engine listens for its configured keywords only (${choices.active.join(', ')}): set wake.keywords in the config`);
    await this.wake.setKeyword(want[0]!);
    return this.wakeWordChoices().active;
  }
}

function same(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

/** The host backed by the real session (wired in src/agent.ts). */
export function sessionHost(session: Session, wake: WakeWord, initialVolume: number): SatelliteHost {
  return new SessionHost(session, wake, initialVolume);
}

/** A backend that can be given a host. */
export interface HostedBackend {
  attachHost(host: SatelliteHost): void;
}

export function isHostedBackend(b: unknown): b is HostedBackend {
  return typeof (b as Partial<HostedBackend>).attachHost === 'function';
}
