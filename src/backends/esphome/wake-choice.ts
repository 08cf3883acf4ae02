/**
 * The wake word as Home Assistant chooses it (docs/backends.md, "esphome"): the configuration
 * Home Assistant asks for lists what the engine can actually detect (openWakeWord: its installed
 * models, one active at a time; Porcupine: its configured keywords only; none: nothing), and
 * `VoiceAssistantSetConfiguration` switches the engine's keyword at run time. The choice is kept
 * in the preferences file and applied again at the next start.
 */
import { errorMessage } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import type { SatelliteHost } from './host.js';
import type { PreferencesStore } from './preferences.js';
import type { Fields } from './proto.js';

/** The languages the built-in models were trained on (openWakeWord's and Porcupine's: English). */
const TRAINED_LANGUAGES = ['en'];

export class WakeWordChoice {
  /** The switch in progress, so a second choice waits for the first. */
  #pending: Promise<void> = Promise.resolve();

  constructor(
    private readonly prefs: PreferencesStore,
    private readonly log: Logger,
    private readonly host: () => SatelliteHost | undefined,
  ) {}

  /** `VoiceAssistantConfigurationResponse` fields. */
  configuration(): Fields {
    const c = this.host()?.wakeWordChoices() ?? { available: [], active: [], maxActive: 0 };
    return {
      available_wake_words: c.available.map((a) => ({ id: a.id, wake_word: a.label, trained_languages: TRAINED_LANGUAGES })),
      active_wake_words: c.active,
      max_active_wake_words: c.maxActive,
    };
  }

  /** Home Assistant's choice (`VoiceAssistantSetConfiguration`); resolves when applied or refused. */
  set(f: Fields): Promise<void> {
    const ids = (Array.isArray(f.active_wake_words) ? f.active_wake_words : []).filter((x): x is string => typeof x === 'string').slice(0, 8);
    return this.#apply(ids, 'home-assistant');
  }

  /** Applies the choice saved by an earlier run (at start, once the wake word engine runs). */
  restore(): Promise<void> {
    const saved = this.prefs.read().activeWakeWords;
    if (!saved?.length) return Promise.resolve();
    return this.#apply(saved, 'saved');
  }

  #apply(ids: string[], source: 'home-assistant' | 'saved'): Promise<void> {
    const run = async (): Promise<void> => {
      const host = this.host();
      if (!host || ids.length === 0) return;
      const before = host.wakeWordChoices().active;
      try {
        const active = await host.setWakeWords(ids);
        if (source === 'home-assistant') this.prefs.write({ activeWakeWords: active });
        if (active.join() !== before.join()) this.log.info('esphome-wake-word-set', { active, from: before, source });
      } catch (err) {
        this.log.warn('esphome-wake-word-refused', { requested: ids, active: before, source, reason: errorMessage(err) });
      }
    };
    this.#pending = this.#pending.then(run);
    return this.#pending;
  }
}
