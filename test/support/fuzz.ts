/**
 * A seeded fuzzer of gateway messages (docs/protocol.md's inbound types): every mutation is a
 * frame to send as-is, text or binary. Deep nesting and huge values are built as text, so the
 * fuzzer itself never overflows the stack. Same seed, same frames.
 */
import { prng as rng } from '../../bench/fixtures/eos-fixtures.js';

export const INBOUND_TYPES = ['stt_transcript', 'text', 'response', 'audio_start', 'audio_data', 'audio_end', 'error', 'binary', 'unknown'] as const;
export type InboundType = (typeof INBOUND_TYPES)[number];

export interface Frame {
  data: string | Buffer;
  binary: boolean;
  /** What the mutation did, for a failure message. */
  what: string;
}

/** Raw JSON text of a value (for the parts that are plain). */
const j = (v: unknown): string => JSON.stringify(v) ?? 'null';

export class Fuzzer {
  readonly #r: () => number;

  constructor(seed: number) {
    this.#r = rng(seed);
  }

  #int(n: number): number {
    return Math.floor(this.#r() * n);
  }

  #pick<T>(items: readonly T[]): T {
    return items[this.#int(items.length)]!;
  }

  /** A hostile JSON value as text, with a label. */
  value(): [string, string] {
    const k = this.#int(16);
    switch (k) {
      case 0:
        return ['null', 'null'];
      case 1:
        return [this.#pick(['true', 'false', '0', '-1', '1e308', '-0', '4294967297', '0.5']), 'scalar'];
      case 2:
        return [j(''), 'empty string'];
      case 3: {
        const n = this.#pick([1000, 100_000, 1_000_000, 5_000_000]);
        return [j('x'.repeat(n)), `string of ${n}`];
      }
      case 4:
        return [j('\u0000\u001f\u202e\ud83d\ude00 \\ " \n true'), 'odd unicode'];
      case 5: {
        const depth = this.#pick([10, 65, 1000, 10_000, 50_000]);
        return ['['.repeat(depth) + ']'.repeat(depth), `array nested ${depth}`];
      }
      case 6: {
        const depth = this.#pick([10, 63, 64, 65, 6000]);
        return ['{"a":'.repeat(depth) + '1' + '}'.repeat(depth), `object nested ${depth}`];
      }
      case 7: {
        const n = this.#pick([1000, 100_000, 500_000]);
        return ['[' + new Array(n).fill('7').join(',') + ']', `array of ${n}`];
      }
      case 8:
        return ['{"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}}}', 'prototype keys'];
      case 9:
        return [j({ type: 'Buffer', data: [1, 2, 300, -1, 'x'] }), 'bad Buffer'];
      case 10:
        return [j({ type: 'Buffer', data: new Array(this.#pick([10, 50_000])).fill(255) }), 'Buffer object'];
      case 11:
        return [j('!!!not base64!!!'), 'bad base64'];
      case 12:
        return [j(Buffer.alloc(this.#pick([1, 3, 3200, 320_000]), this.#int(256)).toString('base64')), 'base64 audio'];
      case 13:
        return [j({ message: { message: { message: 'nested' } }, code: 5 }), 'nested error object'];
      case 14:
        return [j(this.#pick(['true', 'false', 'TRUE', '{}', 'audio/mpeg', 'audio/l16; rate=0', 'audio/l16; rate=999999; channels=99'])), 'tricky string'];
      default:
        return ['{}', 'empty object'];
    }
  }

  /** An id: none, null, the current turn's, a random one, or a wrong type. */
  id(current: string | null): [string | undefined, string] {
    const k = this.#int(6);
    if (k === 0) return [undefined, 'no id'];
    if (k === 1) return ['null', 'null id'];
    if (k === 2 && current) return [j(current), 'current id'];
    if (k === 3) return [j(`orphan-${this.#int(1000)}`), 'orphan id'];
    if (k === 4) return [this.#pick(['5', '{}', '[]', 'true', j('x'.repeat(10_000))]), 'odd id'];
    return [j(current ?? 'none'), 'current-or-none id'];
  }

  /** One mutated frame of `type`; `current` is the turn id the agent has open, if known. */
  frame(type: InboundType, current: string | null): Frame {
    if (type === 'binary') {
      const n = this.#pick([0, 1, 3, 320, 3200, 64 * 1024, 2 * 1024 * 1024]);
      const b = Buffer.alloc(n);
      for (let i = 0; i < Math.min(n, 4096); i++) b[i] = this.#int(256);
      if (n >= 2 && this.#r() < 0.3) b.set([0xff, 0xfb], 0); // looks like MP3
      return { data: b, binary: true, what: `binary ${n} bytes` };
    }
    const fields: string[] = [];
    const labels: string[] = [];
    const action = type === 'unknown' ? j(this.#pick(['teleport', '', 'AUDIO_START', 'x'.repeat(5000)])) : j(type);
    if (this.#r() < 0.95) fields.push(`"action":${action}`);
    else labels.push('no action');
    const [id, idLabel] = this.id(current);
    if (id !== undefined) fields.push(`"id":${id}`);
    labels.push(idLabel);
    const keys: Record<InboundType, string[]> = {
      stt_transcript: ['transcript', 'final', 'is_final', 'confidence'],
      text: ['text', 'prompt'],
      response: ['data'],
      audio_start: ['format', 'content_type', 'options', 'encoding'],
      audio_data: ['data', 'encoding'],
      audio_end: ['prompt'],
      error: ['error', 'message', 'detail'],
      binary: [],
      unknown: ['data', 'text'],
    };
    for (const key of keys[type]) {
      if (this.#r() < 0.25) continue; // missing field
      const [v, label] = this.value();
      fields.push(`${j(key)}:${v}`);
      labels.push(`${key}=${label}`);
    }
    if (this.#r() < 0.1) {
      const [v, label] = this.value();
      fields.push(`"extra":${v}`);
      labels.push(`extra=${label}`);
    }
    let text = `{${fields.join(',')}}`;
    const wrap = this.#int(20);
    if (wrap === 0) text = text.slice(0, this.#int(text.length)); // truncated JSON
    else if (wrap === 1) text = `[${text}]`;
    else if (wrap === 2) text = text.replace(/"/, "'");
    return { data: text, binary: false, what: `${type}: ${labels.join(', ')}${wrap <= 2 ? ` (wrapped ${wrap})` : ''}` };
  }
}
