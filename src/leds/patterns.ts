/**
 * The one place that says what each LED state looks like, in the spirit of commercial speakers:
 * dark when idle, a solid colour while listening (a different one for a follow-up), a spinning
 * light while thinking, a pulse that follows the reply's loudness while speaking, red when
 * muted, a red blink on error and a slow amber blink while the gateway is unreachable; a dim
 * warm white glow while a timer runs, and a fast bright warm white pulse while one rings.
 *
 * Rendering is a pure function of (pattern, time in ms, audio level, LED count), so any driver
 * (APA102 strip, single LED, a test) shows the same thing and tests need no timers.
 */
import type { LedState } from '../ports/gpio.js';

/** A colour as [red, green, blue], each 0-255. */
export type Rgb = readonly [number, number, number];

export type Animation =
  /** Constant colour. */
  | { kind: 'solid' }
  /** On for `duty` of each `periodMs`, then off. */
  | { kind: 'blink'; periodMs: number; duty: number }
  /** Brightness breathes between `min` and 1 over `periodMs` (a raised cosine). */
  | { kind: 'pulse'; periodMs: number; min: number }
  /** One bright LED walks round the ring once per `periodMs`, trailing `tail` dimmer LEDs. */
  | { kind: 'spin'; periodMs: number; tail: number }
  /** Brightness follows the audio level (0-1) passed with the state, never below `min`. */
  | { kind: 'level'; min: number; idle: { periodMs: number } };

export interface Pattern {
  color: Rgb;
  animation: Animation;
}

/** Built-in look of every state. Profiles and config may override the colours only. */
export const DEFAULT_PATTERNS: Record<LedState, Pattern> = {
  off: { color: [0, 0, 0], animation: { kind: 'solid' } },
  idle: { color: [0, 0, 0], animation: { kind: 'solid' } },
  listening: { color: [0, 80, 255], animation: { kind: 'solid' } },
  'follow-up': { color: [0, 200, 140], animation: { kind: 'pulse', periodMs: 2000, min: 0.5 } },
  thinking: { color: [80, 40, 255], animation: { kind: 'spin', periodMs: 1000, tail: 2 } },
  speaking: { color: [0, 160, 255], animation: { kind: 'level', min: 0.25, idle: { periodMs: 1500 } } },
  muted: { color: [255, 0, 0], animation: { kind: 'solid' } },
  error: { color: [255, 0, 0], animation: { kind: 'blink', periodMs: 500, duty: 0.5 } },
  disconnected: { color: [255, 110, 0], animation: { kind: 'blink', periodMs: 2000, duty: 0.5 } },
  timer: { color: [90, 70, 40], animation: { kind: 'pulse', periodMs: 4000, min: 0.4 } },
  ringing: { color: [255, 210, 140], animation: { kind: 'pulse', periodMs: 600, min: 0.1 } },
};

/** Colour overrides as `#rrggbb`, keyed by state (the `gpio.leds.colors` config section). */
export type ColorOverrides = Partial<Record<LedState, string | undefined>>;

/** Parses `#rrggbb`. Throws on anything else (config validation catches it earlier). */
export function parseHexColor(hex: string): Rgb {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!m) throw new Error(`not a #rrggbb colour: "${hex}"`);
  return [parseInt(m[1]!, 16), parseInt(m[2]!, 16), parseInt(m[3]!, 16)];
}

/** The pattern table with colour overrides applied. `off` always stays dark. */
export function buildPatterns(overrides: ColorOverrides = {}): Record<LedState, Pattern> {
  const out = { ...DEFAULT_PATTERNS };
  for (const [state, hex] of Object.entries(overrides) as [LedState, string | undefined][]) {
    if (hex === undefined || state === 'off' || !(state in out)) continue;
    out[state] = { ...out[state], color: parseHexColor(hex) };
  }
  return out;
}

/** True when the pattern changes with time (the animator then keeps a frame timer running). */
export function isAnimated(pattern: Pattern, level: number | undefined): boolean {
  if (pattern.color.every((c) => c === 0)) return false;
  const a = pattern.animation;
  if (a.kind === 'solid') return false;
  // With a level the frame changes only when a new level arrives, which re-renders anyway.
  if (a.kind === 'level') return level === undefined;
  return true;
}

function scale(color: Rgb, k: number): Rgb {
  const f = Math.min(1, Math.max(0, k));
  return [Math.round(color[0] * f), Math.round(color[1] * f), Math.round(color[2] * f)];
}

/** Raised cosine 0..1..0 over one period: smooth breathing with no visible step at the wrap. */
function breathe(tMs: number, periodMs: number): number {
  const phase = (((tMs % periodMs) + periodMs) % periodMs) / periodMs;
  return 0.5 - 0.5 * Math.cos(2 * Math.PI * phase);
}

/**
 * One frame: the colour of each of `count` LEDs at time `tMs` (ms since the state was entered).
 * `level` is the output audio level 0-1 while speaking (undefined when unknown).
 */
export function renderFrame(pattern: Pattern, tMs: number, level: number | undefined, count: number): Rgb[] {
  const { color, animation: a } = pattern;
  const all = (c: Rgb): Rgb[] => Array.from({ length: count }, () => c);
  switch (a.kind) {
    case 'solid':
      return all(color);
    case 'blink': {
      const phase = (((tMs % a.periodMs) + a.periodMs) % a.periodMs) / a.periodMs;
      return all(phase < a.duty ? color : [0, 0, 0]);
    }
    case 'pulse':
      return all(scale(color, a.min + (1 - a.min) * breathe(tMs, a.periodMs)));
    case 'level': {
      const k = level === undefined ? 0.5 + 0.5 * breathe(tMs, a.idle.periodMs) : level;
      return all(scale(color, a.min + (1 - a.min) * Math.min(1, Math.max(0, k))));
    }
    case 'spin': {
      const head = Math.floor(((((tMs % a.periodMs) + a.periodMs) % a.periodMs) / a.periodMs) * count) % count;
      const frame: Rgb[] = all([0, 0, 0]);
      for (let i = 0; i <= Math.min(a.tail, count - 1); i++) {
        frame[(head - i + count) % count] = scale(color, 1 / (i + 1) ** 1.5);
      }
      return frame;
    }
  }
}
