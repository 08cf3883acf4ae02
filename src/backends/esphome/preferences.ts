/**
 * What Home Assistant chose for this satellite and the agent keeps across restarts, as
 * linux-voice-assistant keeps it in its preferences file: today the active wake word. The file
 * is `esphome-preferences.json` in systemd's state directory (`$STATE_DIRECTORY`, which the unit
 * sets to /var/lib/speaker-agent); without one (a run by hand) nothing is kept. Writes go to a
 * temporary file renamed over the old one, so a crash never leaves half a file. A file that
 * cannot be read or parsed is ignored with one warning: it never stops the agent.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { errorMessage } from '../../errors.js';
import type { Logger } from '../../log/logger.js';

export interface EsphomePreferences {
  /** Wake word ids Home Assistant made active (`VoiceAssistantSetConfiguration`). */
  activeWakeWords?: string[];
}

export const PREFERENCES_FILE = 'esphome-preferences.json';

/** The preferences file under the state directory, or undefined when there is none. */
export function preferencesPath(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dir = env.STATE_DIRECTORY?.split(':')[0];
  return dir ? path.join(dir, PREFERENCES_FILE) : undefined;
}

export class PreferencesStore {
  constructor(
    private readonly file: string | undefined,
    private readonly log: Logger,
  ) {}

  read(): EsphomePreferences {
    if (!this.file) return {};
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.log.warn('esphome-preferences-unreadable', { file: this.file, error: errorMessage(err) });
      return {};
    }
    try {
      const raw: unknown = JSON.parse(text.slice(0, 64 * 1024));
      const words = (raw as { activeWakeWords?: unknown } | null)?.activeWakeWords;
      if (Array.isArray(words) && words.every((w) => typeof w === 'string' && w.length < 200)) return { activeWakeWords: words.slice(0, 8) };
      return {};
    } catch (err) {
      this.log.warn('esphome-preferences-unreadable', { file: this.file, error: errorMessage(err) });
      return {};
    }
  }

  write(prefs: EsphomePreferences): void {
    if (!this.file) return;
    const tmp = `${this.file}.tmp`;
    try {
      mkdirSync(path.dirname(this.file), { recursive: true });
      writeFileSync(tmp, `${JSON.stringify(prefs, null, 2)}\n`, { mode: 0o640 });
      renameSync(tmp, this.file);
    } catch (err) {
      this.log.warn('esphome-preferences-not-saved', { file: this.file, error: errorMessage(err) });
    }
  }
}
