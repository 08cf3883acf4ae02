/**
 * What the ESPHome backend needs from the rest of the agent, and nothing more: the conversation's
 * phase (to know when a reply or announcement has finished playing, and when the speaker is free
 * for a timer's ring), the microphone mute and the volume (Home Assistant's switch and media
 * player), and which wake word opened a turn. The composition root (src/agent.ts) builds it from
 * the session with `sessionHost`; tests may pass their own.
 */
import type { Session } from '../../core/session.js';
import type { Phase } from '../../core/state.js';
import type { TurnId } from '../../ports/backend.js';
import type { WakeWord } from '../../ports/wake-word.js';
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
  /** The wake words the agent listens for (reported to Home Assistant; not switchable at run time). */
  wakeWords(): string[];
}

/** Recent enough for a detection to be the one that opened the turn now starting. */
const WAKE_FRESH_MS = 3000;

class SessionHost extends TypedEmitter<SatelliteHostEvents> implements SatelliteHost {
  #volume: number;
  #lastTrigger: string | undefined;
  #lastKeyword: { keyword: string; at: number } | undefined;
  #last: HostState;

  constructor(
    private readonly session: Session,
    private readonly wake: WakeWord,
    initialVolume: number,
  ) {
    super();
    this.#volume = initialVolume;
    this.#last = this.#snapshot();
    wake.on('detected', (d) => (this.#lastKeyword = { keyword: d.keyword, at: Date.now() }));
    session.on('timeline', (e) => {
      if (e.mark === 'trigger') this.#lastTrigger = String(e.detail?.source ?? '');
    });
    session.on('state', () => this.#changed());
  }

  #snapshot(): HostState {
    const s = this.session.status();
    return { phase: s.phase, turnId: s.turnId, muted: s.muted, volume: s.volume ?? this.#volume };
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
    const p = Math.max(0, Math.min(100, Math.round(percent)));
    if (this.session.setVolume(p).ok) this.#volume = p;
    this.#changed();
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

  wakeWords(): string[] {
    return this.wake.status().keywords;
  }
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
