/**
 * Bounds on what arrives from outside and what the agent passes on (docs/reliability.md,
 * "Bounded input and output"). `bound()` makes a copy of any value that is at most `maxDepth`
 * deep, `maxString` per string, `maxItems` per array or object and about `maxChars` in all,
 * with cycles cut, Buffers summarised and every string passed through an optional mask (the
 * logger's secret rule). `safeStringify()` is JSON.stringify of that copy: it never throws and
 * never recurses deeper than the limit, whatever it is given (JSON.stringify itself overflows the
 * stack on an object a few thousand levels deep). `jsonDepthExceeds()` checks a JSON text's
 * nesting before it is parsed.
 */

export interface Bounds {
  /** Nesting kept; deeper values become "[depth limit]". */
  maxDepth: number;
  /** Characters kept of one string. */
  maxString: number;
  /** Entries kept of one array or object. */
  maxItems: number;
  /** About this many characters in all; past it, values become "[truncated]". */
  maxChars: number;
}

/** For log fields, control-socket replies and events, status. */
export const OUTBOUND_BOUNDS: Bounds = { maxDepth: 8, maxString: 2048, maxItems: 64, maxChars: 32 * 1024 };

/** The deepest JSON the agent parses from a gateway, a service or a control client. */
export const MAX_JSON_DEPTH = 64;

export interface BoundOptions {
  /** Applied to every string kept (secret masking). */
  mask?: (text: string) => string;
  /** Object keys whose values are replaced by "[redacted]" (credentials by name). */
  redactKey?: (key: string) => boolean;
}

/** A copy of `value` within `limits` (see the module comment). Never throws. */
export function bound(value: unknown, limits: Bounds = OUTBOUND_BOUNDS, options: BoundOptions = {}): unknown {
  const budget = { left: limits.maxChars };
  const ancestors = new Set<object>();
  const mask = options.mask ?? ((s: string) => s);

  const str = (s: string): string => {
    const cut = s.length > limits.maxString ? `${s.slice(0, limits.maxString)}…[${s.length - limits.maxString} more chars]` : s;
    const out = mask(cut);
    budget.left -= out.length + 2;
    return out;
  };

  const walk = (v: unknown, depth: number): unknown => {
    if (budget.left <= 0) return '[truncated]';
    switch (typeof v) {
      case 'string':
        return str(v);
      case 'number':
        budget.left -= 8;
        return Number.isFinite(v) ? v : String(v);
      case 'boolean':
        budget.left -= 5;
        return v;
      case 'bigint':
        return str(v.toString());
      case 'undefined':
        return undefined;
      case 'symbol':
      case 'function':
        return undefined;
    }
    if (v === null) return null;
    const o = v as object;
    if (Buffer.isBuffer(o) || ArrayBuffer.isView(o)) return `[${(o as ArrayBufferView).byteLength} bytes]`;
    if (o instanceof Date) return Number.isNaN(o.getTime()) ? null : o.toISOString();
    if (o instanceof Error) return str(o.message);
    if (depth >= limits.maxDepth) return '[depth limit]';
    if (ancestors.has(o)) return '[circular]';
    ancestors.add(o);
    try {
      if (Array.isArray(o)) {
        const n = Math.min(o.length, limits.maxItems);
        const out: unknown[] = [];
        for (let i = 0; i < n && budget.left > 0; i++) {
          const item = walk(o[i], depth + 1);
          out.push(item === undefined ? null : item);
        }
        if (o.length > out.length) out.push(`[${o.length - out.length} more items]`);
        return out;
      }
      const out: Record<string, unknown> = {};
      let kept = 0;
      let total = 0;
      for (const key in o) {
        if (!Object.prototype.hasOwnProperty.call(o, key)) continue;
        total++;
        if (kept >= limits.maxItems || budget.left <= 0) continue;
        let item: unknown;
        try {
          item = (o as Record<string, unknown>)[key];
        } catch {
          item = '[unreadable]';
        }
        const k = key.length > 200 ? key.slice(0, 200) : key;
        budget.left -= k.length + 4;
        const redact = options.redactKey?.(k) && item !== undefined && item !== null && typeof item !== 'boolean';
        const cleaned = redact ? '[redacted]' : walk(item, depth + 1);
        if (cleaned === undefined) continue;
        out[mask(k)] = cleaned;
        kept++;
      }
      if (total > kept) out['…'] = `[${total - kept} more keys]`;
      return out;
    } finally {
      ancestors.delete(o);
    }
  };

  return walk(value, 0);
}

/** JSON text of `bound(value)`; never throws, never more than about `limits.maxChars`. */
export function safeStringify(value: unknown, limits: Bounds = OUTBOUND_BOUNDS, options: BoundOptions = {}): string {
  try {
    return JSON.stringify(bound(value, limits, options)) ?? 'null';
  } catch {
    return '"[unserialisable]"';
  }
}

/**
 * True when the JSON text nests arrays/objects deeper than `max`: one pass, no parsing, so a
 * hostile message is refused before JSON.parse builds it.
 */
export function jsonDepthExceeds(text: string, max: number = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

/** JSON.parse with the depth check first: `{ ok: false }` for bad or too-deep text. */
export function parseBoundedJson(text: string, maxDepth: number = MAX_JSON_DEPTH): { ok: true; value: unknown } | { ok: false; reason: string } {
  if (jsonDepthExceeds(text, maxDepth)) return { ok: false, reason: `nested deeper than ${maxDepth} levels` };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
}

/** Bounded collections: the oldest entries are forgotten first. */

/** Adds to a bounded set or map, forgetting the oldest entries. */
export function remember(into: Set<string>, id: string, limit: number): void;
export function remember(into: Map<string, string>, id: string, limit: number, value: string): void;
export function remember(into: Set<string> | Map<string, string>, id: string, limit: number, value?: string): void {
  if (into instanceof Map) into.set(id, value!);
  else into.add(id);
  for (const oldest of into.keys()) {
    if (into.size <= limit) break;
    into.delete(oldest);
  }
}

