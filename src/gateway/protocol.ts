/**
 * The audio gateway's JSON protocol (docs/protocol.md "Audio gateway", with the variants the
 * public reference client reads). Incoming messages are validated into a typed union; anything
 * else is rejected with a reason that the client logs before ignoring the message.
 */
import { formatFromContentType } from '../audio/content-type.js';
import type { PromptValue, ReplyFormat } from '../ports/backend.js';
import { bound, parseBoundedJson, safeStringify } from '../util/bounded.js';

export { formatFromContentType };

export type GatewayMessage =
  | { action: 'stt_transcript'; id: string | null; transcript: string; confidence?: number; final: boolean; transactionId?: string }
  /** `text` is the message's `text` or, as the reference client reads it, `speech`; `voice` is a URL of the reply audio. */
  | { action: 'text'; id: string | null; text: string; prompt?: PromptValue; voice?: string }
  | { action: 'response'; id: string | null; data: unknown }
  | { action: 'audio_start'; id: string | null; format: ReplyFormat }
  | { action: 'audio_data'; id: string | null; data: Buffer }
  | { action: 'audio_end'; id: string | null; prompt: PromptValue }
  | { action: 'error'; id: string | null; message: string; detail: unknown };

export type ParseResult = { ok: true; message: GatewayMessage } | { ok: false; reason: string; action?: string };

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

/** `prompt` may be true/false, an object of STT options, or the strings "true"/"false". */
export function parsePrompt(v: unknown): PromptValue | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'boolean') return v;
  if (v === 'true') return true;
  if (v === 'false') return false;
  if (isObj(v)) return v;
  return undefined;
}

/** Finds the reply format in an `audio_start` from the gateway: options, tts options, or top level. */
function formatOf(msg: Obj): ReplyFormat {
  const candidates: unknown[] = [msg.content_type, msg.contentType, msg.format, msg.encoding];
  for (const holder of [msg.options, isObj(msg.options) ? msg.options.tts : undefined]) {
    if (isObj(holder)) candidates.push(holder.content_type, holder.contentType, holder.format, holder.accept);
  }
  for (const c of candidates) {
    if (typeof c !== 'string') continue;
    if (c === 'mp3') return { codec: 'mp3' };
    const f = formatFromContentType(c);
    if (f.codec !== 'unknown') return f;
  }
  return { codec: 'unknown' };
}

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

/** Audio payload: a base64 string, or a JSON-serialised Node Buffer `{type:'Buffer', data:[...]}`. */
export function decodeAudioData(data: unknown): Buffer | string {
  if (typeof data === 'string') {
    const compact = data.replace(/\s+/g, '');
    if (!BASE64.test(compact)) return 'audio_data.data is not valid base64';
    return Buffer.from(compact, 'base64');
  }
  if (isObj(data) && data.type === 'Buffer' && Array.isArray(data.data)) {
    const bytes = data.data;
    for (const b of bytes) {
      if (typeof b !== 'number' || !Number.isInteger(b) || b < 0 || b > 255) return 'audio_data.data Buffer holds a non-byte value';
    }
    return Buffer.from(bytes as number[]);
  }
  return 'audio_data.data must be a base64 string or a {"type":"Buffer","data":[...]} object';
}

/** The most of a gateway's error text kept (it reaches status, events and the log). */
const MAX_ERROR_TEXT = 500;

function errorText(e: unknown): string {
  const text = errorTextOf(e);
  return text.length > MAX_ERROR_TEXT ? `${text.slice(0, MAX_ERROR_TEXT)}…` : text;
}

function errorTextOf(e: unknown): string {
  if (typeof e === 'string') return e;
  if (isObj(e)) {
    for (const k of ['message', 'description', 'error', 'reason', 'code']) {
      if (typeof e[k] === 'string' && e[k]) return e[k] as string;
    }
    const json = safeStringify(e);
    return json === '{}' ? 'unspecified gateway error' : json.slice(0, 300);
  }
  return 'unspecified gateway error';
}

/** Parses and validates one text frame from the gateway. */
export function parseGatewayMessage(text: string): ParseResult {
  // Depth is checked before parsing; what is forwarded (response data, error detail) is bounded.
  const parsed = parseBoundedJson(text);
  if (!parsed.ok) return { ok: false, reason: parsed.reason };
  const msg = parsed.value;
  if (!isObj(msg)) return { ok: false, reason: 'not a JSON object' };
  const action = msg.action;
  if (typeof action !== 'string') return { ok: false, reason: 'no "action" field' };
  const rawId = msg.id;
  if (rawId !== undefined && rawId !== null && typeof rawId !== 'string') return { ok: false, reason: '"id" must be a string', action };
  const id = typeof rawId === 'string' && rawId.length > 0 ? rawId : null;

  switch (action) {
    case 'stt_transcript': {
      const transcript = msg.transcript;
      if (typeof transcript !== 'string') return { ok: false, reason: 'stt_transcript without a "transcript" string', action };
      const confidence = typeof msg.confidence === 'number' && Number.isFinite(msg.confidence) ? msg.confidence : undefined;
      // Some gateways stream interim transcripts; only an explicit final:false is interim.
      const final = msg.final !== false && msg.is_final !== false;
      // Reported with errors about the transcript (docs/protocol.md "stt_transcript").
      const transactionId = typeof msg.transactionId === 'string' && msg.transactionId ? msg.transactionId.slice(0, 200) : undefined;
      return {
        ok: true,
        message: { action, id, transcript, final, ...(confidence !== undefined ? { confidence } : {}), ...(transactionId ? { transactionId } : {}) },
      };
    }
    case 'text': {
      const text = typeof msg.text === 'string' ? msg.text : typeof msg.speech === 'string' ? msg.speech : undefined;
      const voice = typeof msg.voice === 'string' && msg.voice.trim() ? msg.voice.trim() : undefined;
      if (text === undefined && !voice) return { ok: false, reason: 'text without a "text" or "speech" string (or a "voice" URL)', action };
      const prompt = parsePrompt(msg.prompt);
      return { ok: true, message: { action, id, text: text ?? '', ...(prompt !== undefined ? { prompt } : {}), ...(voice ? { voice } : {}) } };
    }
    case 'response':
      return { ok: true, message: { action, id, data: bound(msg.data ?? null) } };
    case 'audio_start':
      return { ok: true, message: { action, id, format: formatOf(msg) } };
    case 'audio_data': {
      const data = decodeAudioData(msg.data);
      if (typeof data === 'string') return { ok: false, reason: data, action };
      return { ok: true, message: { action, id, data } };
    }
    case 'audio_end':
      return { ok: true, message: { action, id, prompt: parsePrompt(msg.prompt) ?? false } };
    case 'error':
      return { ok: true, message: { action, id, message: errorText(msg.error ?? msg.message), detail: bound(msg.error ?? null) } };
    default:
      return { ok: false, reason: `unknown action "${action.slice(0, 40)}"`, action };
  }
}

/** Client -> gateway messages (the forms of docs/protocol.md "Audio gateway"). */
export const out = {
  audioStart: (id: string, stt?: Record<string, unknown>) =>
    JSON.stringify({ id, action: 'audio_start', ...(stt ? { options: { stt } } : {}) }),
  audioData: (id: string, pcm: Buffer) => JSON.stringify({ id, action: 'audio_data', data: pcm.toString('base64'), encoding: 'base64' }),
  audioEnd: (id: string) => JSON.stringify({ id, action: 'audio_end' }),
  text: (id: string, text: string) => JSON.stringify({ id, action: 'text', text }),
  sttOptions: (id: string, options: Record<string, unknown>) => JSON.stringify({ id, action: 'stt_options', options }),
  ttsOptions: (id: string, options: Record<string, unknown>) => JSON.stringify({ id, action: 'tts_options', options }),
  location: (id: string, location: { latitude: number; longitude: number }) => JSON.stringify({ id, action: 'location', location }),
};
