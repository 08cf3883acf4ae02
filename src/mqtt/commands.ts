/**
 * Validation of inbound command payloads (pure). Anything on a command topic comes from whoever
 * may publish to the broker: a bad payload becomes an error string for the log, never a throw.
 * The accepted payloads are listed in docs/mqtt.md, "Commands".
 */
import type { CommandName } from './topics.js';

export type Command =
  | { cmd: 'listen' }
  | { cmd: 'stop' }
  | { cmd: 'say'; text: string }
  | { cmd: 'mute'; muted: boolean }
  | { cmd: 'volume'; percent: number };

export type Parsed = { ok: true; command: Command } | { ok: false; error: string };

/** A short, printable excerpt of a bad payload for the log line (never the `say` text). */
function excerpt(payload: Buffer): string {
  const s = payload.subarray(0, 40).toString('utf8');
  return JSON.stringify(payload.length > 40 ? `${s}...` : s);
}

const TRUE = new Set(['on', 'true', '1']);
const FALSE = new Set(['off', 'false', '0']);
const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });

export function parseCommand(name: CommandName, payload: Buffer, maxSayChars: number): Parsed {
  switch (name) {
    case 'listen':
    case 'stop': {
      const p = payload.length <= 16 ? payload.toString('utf8').trim().toUpperCase() : '?';
      if (p === '' || p === 'PRESS') return { ok: true, command: { cmd: name } };
      return { ok: false, error: `${name} takes PRESS or an empty payload, got ${excerpt(payload)}` };
    }
    case 'mute': {
      const p = payload.length <= 16 ? payload.toString('utf8').trim().toLowerCase() : '?';
      if (TRUE.has(p)) return { ok: true, command: { cmd: 'mute', muted: true } };
      if (FALSE.has(p)) return { ok: true, command: { cmd: 'mute', muted: false } };
      return { ok: false, error: `mute takes ON or OFF, got ${excerpt(payload)}` };
    }
    case 'volume': {
      const p = payload.length <= 16 ? payload.toString('utf8').trim() : '?';
      const n = /^\d{1,3}(\.\d+)?$/.test(p) ? Number(p) : NaN;
      if (!(n >= 0 && n <= 100)) return { ok: false, error: `volume takes a number from 0 to 100, got ${excerpt(payload)}` };
      return { ok: true, command: { cmd: 'volume', percent: Math.round(n) } };
    }
    case 'say': {
      // A UTF-8 character is at most 4 bytes: anything longer is refused before decoding.
      if (payload.length > maxSayChars * 4) return { ok: false, error: `say text of ${payload.length} bytes is over the limit of ${maxSayChars} characters (mqtt.maxSayChars)` };
      let text: string;
      try {
        text = fatalUtf8.decode(payload);
      } catch {
        return { ok: false, error: 'say text is not valid UTF-8' };
      }
      // Control characters would reach the backend and logs as they are: they become spaces.
      text = text.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, ' ').trim(); // eslint-disable-line no-control-regex
      if (!text) return { ok: false, error: 'say needs a non-empty text' };
      const chars = [...text].length;
      if (chars > maxSayChars) return { ok: false, error: `say text of ${chars} characters is over the limit of ${maxSayChars} (mqtt.maxSayChars)` };
      return { ok: true, command: { cmd: 'say', text } };
    }
  }
}
