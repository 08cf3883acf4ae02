/**
 * Control socket protocol: newline-delimited JSON over a local Unix socket.
 * Request:  {"cmd":"listen"} | {"cmd":"stop"} | {"cmd":"mute"} | {"cmd":"unmute"}
 *           | {"cmd":"say","text":"..."} | {"cmd":"volume","percent":60} | {"cmd":"status"}
 *           | {"cmd":"events"}   (subscribe: the connection then receives every event)
 * Reply:    {"ok":true,...} or {"ok":false,"error":"...","reason":"..."}, one line per request.
 * Events:   {"event":"state"|"led"|"timeline"|"transcript"|"reply_text"|"response"|"error"
 *           |"notice"|"refused", ...fields, "time":"ISO-8601"}
 */
import { parseBoundedJson, safeStringify } from '../util/bounded.js';

export type ControlRequest =
  | { cmd: 'listen' }
  | { cmd: 'stop' }
  | { cmd: 'mute' }
  | { cmd: 'unmute' }
  | { cmd: 'say'; text: string }
  | { cmd: 'volume'; percent: number }
  | { cmd: 'status' }
  | { cmd: 'events' };

export type ControlReply = { ok: true; [k: string]: unknown } | { ok: false; error: string; reason?: string };

/** Validates one request line. Returns an error string for anything malformed. */
export function parseRequest(line: string): ControlRequest | string {
  const parsed = parseBoundedJson(line, 8);
  if (!parsed.ok) return parsed.reason === 'not JSON' ? 'request is not JSON' : `request ${parsed.reason}`;
  const v = parsed.value;
  if (!v || typeof v !== 'object' || Array.isArray(v)) return 'request must be a JSON object';
  const r = v as Record<string, unknown>;
  switch (r.cmd) {
    case 'listen':
    case 'stop':
    case 'mute':
    case 'unmute':
    case 'status':
    case 'events':
      return { cmd: r.cmd };
    case 'say':
      if (typeof r.text !== 'string' || !r.text.trim()) return 'say needs a non-empty "text"';
      return { cmd: 'say', text: r.text };
    case 'volume':
      if (typeof r.percent !== 'number' || !(r.percent >= 0 && r.percent <= 100)) return 'volume needs "percent" from 0 to 100';
      return { cmd: 'volume', percent: r.percent };
    default:
      return `unknown cmd ${safeStringify(r.cmd).slice(0, 60)} (listen, stop, mute, unmute, say, volume, status, events)`;
  }
}
