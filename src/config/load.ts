/**
 * Loads the configuration: defaults < file (YAML or JSON) < environment < flags.
 * Never falls back silently: every problem is a `path: message` line in a ConfigError.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../errors.js';
export { defaultControlSocket } from './paths.js';
import { loadProfile } from './profiles.js';
import { ConfigSchema, type Config } from './schema.js';

type Json = Record<string, unknown>;

/** Environment variables that set a config path. Values are strings (or "true"/"false"). */
export const ENV_VARS: Record<string, string> = {
  SPEAKER_AGENT_BACKEND: 'backend',
  SPEAKER_AGENT_GATEWAY_URL: 'gateway.url',
  SPEAKER_AGENT_TOKEN_FILE: 'gateway.tokenFile',
  SPEAKER_AGENT_MIC: 'audio.mic',
  SPEAKER_AGENT_SPEAKER: 'audio.speaker',
  SPEAKER_AGENT_WAKE: 'wake.engine',
  SPEAKER_AGENT_WAKE_KEYWORD: 'wake.keyword',
  SPEAKER_AGENT_ECHO_CANCEL: 'audio.echoCancel',
  SPEAKER_AGENT_GPIO: 'gpio.driver',
  SPEAKER_AGENT_HARDWARE: 'hardware',
  SPEAKER_AGENT_CONTROL: 'control.socket',
  SPEAKER_AGENT_MQTT_URL: 'mqtt.url',
  SPEAKER_AGENT_LOG_LEVEL: 'log.level',
  SPEAKER_AGENT_LOG_FORMAT: 'log.format',
};

export function formatIssues(issues: z.core.$ZodIssue[]): string[] {
  return issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
}

/** Sets `obj.a.b.c = value` for `dotted = 'a.b.c'`, creating objects on the way. */
export function setPath(obj: Json, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  let cur = obj;
  for (const key of keys.slice(0, -1)) {
    const next = cur[key];
    if (!next || typeof next !== 'object' || Array.isArray(next)) cur[key] = {};
    cur = cur[key] as Json;
  }
  cur[keys[keys.length - 1]!] = value;
}

function isObject(v: unknown): v is Json {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

/** Deep merge where `over` wins; arrays and scalars are replaced. */
export function deepMerge(base: Json, over: Json): Json {
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(over)) {
    out[k] = isObject(v) && isObject(out[k]) ? deepMerge(out[k] as Json, v) : v;
  }
  return out;
}

/** Reads a config file. Throws ConfigError naming the file on unreadable or unparsable input. */
export function readConfigFile(file: string): Json {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError([`${file}: cannot read config file (${code ?? String(err)})`]);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ConfigError([`${file}: not valid YAML/JSON: ${(err as Error).message.split('\n')[0]}`]);
  }
  if (doc === null || doc === undefined) return {};
  if (!isObject(doc)) throw new ConfigError([`${file}: (root): must be a mapping of settings`]);
  return doc;
}

function envLayer(env: NodeJS.ProcessEnv): Json {
  const layer: Json = {};
  for (const [name, dotted] of Object.entries(ENV_VARS)) {
    const v = env[name];
    if (v !== undefined && v !== '') setPath(layer, dotted, v);
  }
  return layer;
}

export interface LoadOptions {
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Flag values keyed by config path (`gateway.url`), already typed. */
  flags?: Record<string, unknown>;
  /** Directory of the bundled hardware profiles (default: the package's hardware/). */
  hardwareDir?: string;
}

/** Validates a merged raw object. */
export function parseConfig(raw: unknown): Config {
  const result = ConfigSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(formatIssues(result.error.issues));
  return result.data;
}

export function loadConfig(options: LoadOptions = {}): Config {
  const fileLayer: Json = options.file ? readConfigFile(options.file) : {};
  const env = envLayer(options.env ?? process.env);
  const flags: Json = {};
  for (const [dotted, value] of Object.entries(options.flags ?? {})) {
    if (value !== undefined) setPath(flags, dotted, value);
  }
  // The hardware profile sits under the config file: defaults < profile < file < env < flags.
  let raw: Json = {};
  const hardware = [flags.hardware, env.hardware, fileLayer.hardware].find((h) => h !== undefined);
  if (typeof hardware === 'string' && hardware) {
    const fromFile = flags.hardware === undefined && env.hardware === undefined && options.file;
    raw = loadProfile(hardware, readConfigFile, {
      dir: options.hardwareDir,
      baseDir: fromFile ? path.dirname(path.resolve(options.file!)) : undefined,
    });
  }
  raw = deepMerge(raw, fileLayer);
  raw = deepMerge(raw, env);
  raw = deepMerge(raw, flags);
  return parseConfig(raw);
}
