/**
 * Device commands carried by the gateway's `response` payloads (docs/protocol.md), applied on the
 * agent side. Today: volume, as `{"command": "volume", "change": 10}` (relative, percentage
 * points) or `{"command": "volume", "percent": 50}` (absolute). Payloads that are not a command
 * are left alone: `response` is also how skills send other data to control-socket listeners.
 */
import type { Logger } from '../log/logger.js';
import type { RequestResult } from './session-types.js';

export type DeviceCommand = { command: 'volume'; change: number } | { command: 'volume'; percent: number };

/** The speaker volume, as far as commands are concerned. */
export interface VolumeControl {
  /** Current volume, 0-100. */
  get(): number;
  set(percent: number): void;
}

/** The part of the session that owns the volume (src/core/session.ts). */
export interface VolumeOwner {
  status(): { volume?: number };
  setVolume(percent: number): RequestResult;
}

/**
 * The volume as the session owns it: a command sets it through the session like the control
 * socket, MQTT and Home Assistant do, so every one of them sees the same value, and a relative
 * change starts from whatever was set last, by anyone.
 */
export function sessionVolume(session: VolumeOwner, initial: number): VolumeControl {
  return { get: () => session.status().volume ?? initial, set: (p) => void session.setVolume(p) };
}

/** The command in a `response` payload, or undefined when it carries none (or a malformed one). */
export function parseCommand(data: unknown): DeviceCommand | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const d = data as Record<string, unknown>;
  if (d.command !== 'volume') return undefined;
  if (typeof d.change === 'number' && Number.isFinite(d.change)) return { command: 'volume', change: d.change };
  if (typeof d.percent === 'number' && Number.isFinite(d.percent)) return { command: 'volume', percent: d.percent };
  return undefined;
}

/** Applies the command in `data`, if any; returns it (undefined when there was none). */
export function applyCommand(data: unknown, volume: VolumeControl, log: Logger): DeviceCommand | undefined {
  const cmd = parseCommand(data);
  if (!cmd) {
    if ((data as { command?: unknown } | null)?.command !== undefined) log.warn('command-ignored', { reason: 'not a command this agent knows', data });
    return undefined;
  }
  const before = volume.get();
  const target = 'change' in cmd ? before + cmd.change : cmd.percent;
  const percent = Math.round(Math.min(100, Math.max(0, target)));
  volume.set(percent);
  log.info('volume-command', { from: before, to: percent });
  return cmd;
}
