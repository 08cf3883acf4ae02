/**
 * The text skill of the pipeline backend: an HTTP endpoint that gets the final transcript and
 * answers with the reply text. Contract (docs/backends.md):
 *   POST <url>  {"transcript": "...", "sessionId": "...", "turnId": "..."}
 *   200         {"text": "reply to speak", "followUp": true}   (followUp optional)
 * `sessionId` stays the same across the follow-up turns of one conversation. For the offline
 * recogniser the skill may declare the sentences it understands:
 *   GET <url>   {"phrases": ["turn (on | off) the <room> light"], "rules": {"room": ["kitchen | hall"]}}
 */
import type { SkillConfig } from '../config/schema.js';
import type { GrammarSpec } from '../speech/phrases.js';
import { CanceledError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { ServiceError } from './service-error.js';

export interface SkillRequest {
  transcript: string;
  /** One conversation: the same across follow-up turns. */
  sessionId: string;
  turnId: string;
}

export interface SkillReply {
  /** Text to speak; may be empty (nothing to say). */
  text: string;
  /** The skill expects an answer: listen again without a wake word. */
  followUp: boolean;
}

export interface Skill {
  /** Rejects with ServiceError (service `skill`), or CanceledError when `signal` aborts. */
  ask(request: SkillRequest, signal?: AbortSignal): Promise<SkillReply>;
}

export interface HttpSkillOptions {
  config: SkillConfig;
  /** Bearer token sent as `Authorization: Bearer`; never logged. */
  token?: string;
  log: Logger;
  /** The fetch implementation; Node's global by default. */
  fetch?: typeof fetch;
}

const MAX_BODY_IN_MESSAGE = 200;

export class HttpSkill implements Skill {
  readonly #opt: HttpSkillOptions;
  readonly #log: Logger;
  readonly #where: string;

  constructor(options: HttpSkillOptions) {
    this.#opt = options;
    this.#log = options.log.child('skill');
    if (options.token) this.#log.addSecret(options.token);
    const u = new URL(options.config.url);
    // The query string may carry a key: messages name the endpoint without it.
    this.#where = `${u.protocol}//${u.host}${u.pathname}`;
  }

  async ask(request: SkillRequest, signal?: AbortSignal): Promise<SkillReply> {
    const { config } = this.#opt;
    const timeout = AbortSignal.timeout(config.timeoutMs);
    const both = signal ? AbortSignal.any([signal, timeout]) : timeout;
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json', ...config.headers };
    if (this.#opt.token) headers.authorization = `Bearer ${this.#opt.token}`;
    const doFetch = this.#opt.fetch ?? fetch;
    const started = performance.now();
    let res: Response;
    let body: string;
    try {
      res = await doFetch(config.url, { method: 'POST', headers, body: JSON.stringify(request), signal: both });
      body = await res.text();
    } catch (err) {
      if (signal?.aborted) throw new CanceledError('skill request canceled');
      if (timeout.aborted) {
        throw new ServiceError('skill', 'timeout', `the skill at ${this.#where} did not answer within ${config.timeoutMs} ms (pipeline.skill.timeoutMs)`);
      }
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message ?? (err as Error).message;
      throw new ServiceError('skill', 'network', `cannot reach the skill at ${this.#where} (${why}): is it running, and is pipeline.skill.url right?`, {
        cause: err,
      });
    }
    this.#log.debug('answered', () => ({ status: res.status, ms: Math.round(performance.now() - started) }));
    if (!res.ok) {
      const kind = res.status === 401 || res.status === 403 ? 'auth' : res.status === 429 ? 'rate_limit' : 'provider';
      throw new ServiceError('skill', kind, `the skill at ${this.#where} answered HTTP ${res.status}: ${clip(body)}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      throw new ServiceError('skill', 'protocol', `the skill at ${this.#where} did not answer JSON: ${clip(body)}`);
    }
    const text = (json as { text?: unknown } | null)?.text;
    if (typeof text !== 'string') {
      throw new ServiceError('skill', 'protocol', `the skill at ${this.#where} must answer {"text": string, "followUp"?: boolean}; got ${clip(body)}`);
    }
    return { text, followUp: (json as { followUp?: unknown }).followUp === true };
  }
}

/**
 * The sentences the skill declares (GET <url>), for the offline recogniser's grammar. Rejects
 * with ServiceError (service `skill`) naming what to fix.
 */
export async function declaredPhrases(options: HttpSkillOptions): Promise<GrammarSpec> {
  const { config } = options;
  const u = new URL(config.url);
  const where = `${u.protocol}//${u.host}${u.pathname}`;
  const headers: Record<string, string> = { accept: 'application/json', ...config.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const hint = 'answer GET with {"phrases": [...]}, or list them in pipeline.skill.phrases';
  let res: Response;
  let body: string;
  try {
    res = await (options.fetch ?? fetch)(config.url, { method: 'GET', headers, signal: AbortSignal.timeout(config.timeoutMs) });
    body = await res.text();
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause;
    throw new ServiceError('skill', 'network', `cannot ask the skill at ${where} for its phrases (${cause?.code ?? (err as Error).message}): ${hint}`, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    json = undefined;
  }
  const phrases = (json as { phrases?: unknown } | undefined)?.phrases;
  const rules = (json as { rules?: unknown } | undefined)?.rules ?? {};
  const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');
  if (!res.ok || !isStrings(phrases) || !phrases.length || typeof rules !== 'object' || rules === null || !Object.values(rules).every(isStrings)) {
    throw new ServiceError('skill', 'config', `the skill at ${where} declared no phrases (GET answered HTTP ${res.status}: ${clip(body)}): ${hint}`);
  }
  return { phrases, rules: rules as Record<string, string[]> };
}

function clip(text: string): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length > MAX_BODY_IN_MESSAGE ? `${one.slice(0, MAX_BODY_IN_MESSAGE)}...` : one || '(empty body)';
}
