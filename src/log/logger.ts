/**
 * Structured logging: one line per event. JSON by default (journald adds time and unit),
 * `pretty` for a terminal. Secrets never reach the output: any field whose name looks like a
 * credential is replaced by "[redacted]", and known secret values registered with
 * `addSecret()` are masked wherever they appear in strings, at any depth, in arrays too. Every
 * line is bounded (src/util/bounded.ts): a hostile value cannot overflow the stack or flood the
 * journal. `scrub()` applies the same rule to what leaves the agent by other ways (control
 * socket replies and events, systemd STATUS, errors printed by the CLI).
 */
import { bound, OUTBOUND_BOUNDS, type Bounds } from '../util/bounded.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
export type LogFormat = 'json' | 'pretty';
export type LogFields = Record<string, unknown>;

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };
const SECRET_KEY = /(token|authorization|secret|password|accesskey|access_key|private_key|api_?key)/i;

export interface LogSink {
  write(line: string): void;
}

interface Shared {
  level: number;
  format: LogFormat;
  sink: LogSink;
  secrets: Set<string>;
  clock: () => Date;
}

export class Logger {
  readonly #shared: Shared;
  readonly #ns: string;

  constructor(
    options: { level?: LogLevel; format?: LogFormat; sink?: LogSink; clock?: () => Date } = {},
    ns = 'agent',
    shared?: Shared,
  ) {
    this.#ns = ns;
    this.#shared = shared ?? {
      level: LEVELS[options.level ?? 'info'],
      format: options.format ?? 'json',
      sink: options.sink ?? { write: (line) => process.stdout.write(line) },
      secrets: new Set(),
      clock: options.clock ?? (() => new Date()),
    };
  }

  /** A logger for a sub-system; shares level, sink and secrets with its parent. */
  child(ns: string): Logger {
    return new Logger({}, ns, this.#shared);
  }

  setLevel(level: LogLevel): void {
    this.#shared.level = LEVELS[level];
  }

  /** Registers a secret value (token, key) to be masked in every later line. */
  addSecret(value: string | undefined): void {
    if (value && value.length >= 4) this.#shared.secrets.add(value);
  }

  /** Stops masking a secret that is no longer in use (a replaced short-lived token), so the set stays small. */
  removeSecret(value: string): void {
    this.#shared.secrets.delete(value);
  }

  isEnabled(level: LogLevel): boolean {
    return LEVELS[level] >= this.#shared.level;
  }

  /** Debug fields may be a function so the hot path pays nothing when debug is off. */
  debug(event: string, fields?: LogFields | (() => LogFields)): void {
    if (!this.isEnabled('debug')) return;
    this.#write('debug', event, typeof fields === 'function' ? fields() : fields);
  }

  info(event: string, fields?: LogFields): void {
    if (this.isEnabled('info')) this.#write('info', event, fields);
  }

  warn(event: string, fields?: LogFields): void {
    if (this.isEnabled('warn')) this.#write('warn', event, fields);
  }

  error(event: string, fields?: LogFields): void {
    if (this.isEnabled('error')) this.#write('error', event, fields);
  }

  /**
   * `value` as it may leave the agent: credential-named fields redacted, registered secrets
   * masked in every string (keys, arrays and deep values too), and bounded in depth and size.
   */
  scrub(value: unknown, limits: Bounds = OUTBOUND_BOUNDS): unknown {
    return bound(value, limits, { mask: (t) => this.mask(t), redactKey: (k) => SECRET_KEY.test(k) });
  }

  /** `text` with every registered secret replaced by "[redacted]". */
  mask(text: string): string {
    let out = text;
    for (const secret of this.#shared.secrets) {
      if (out.includes(secret)) out = out.split(secret).join('[redacted]');
    }
    return out;
  }

  #write(level: LogLevel, event: string, fields: LogFields | undefined): void {
    let clean: LogFields = {};
    try {
      const scrubbed = fields ? this.scrub(fields) : {};
      if (scrubbed && typeof scrubbed === 'object' && !Array.isArray(scrubbed)) clean = scrubbed as LogFields;
    } catch {
      clean = { fields: '[unloggable]' };
    }
    if (this.#shared.format === 'pretty') {
      const time = this.#shared.clock().toISOString().slice(11, 23);
      const rest = Object.entries(clean)
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(' ');
      this.#shared.sink.write(`${time} ${level.toUpperCase().padEnd(5)} ${this.#ns}: ${event}${rest ? ' ' + rest : ''}\n`);
      return;
    }
    this.#shared.sink.write(JSON.stringify({ level, ns: this.#ns, event, ...clean }) + '\n');
  }
}

/** A logger that drops everything; for tests and tools that want silence. */
export function silentLogger(): Logger {
  return new Logger({ level: 'silent' });
}

/** A logger that keeps its lines in memory; for tests that assert on log output. */
export function memoryLogger(level: LogLevel = 'debug'): { logger: Logger; lines: () => LogFields[]; text: () => string } {
  const raw: string[] = [];
  const logger = new Logger({ level, sink: { write: (l) => raw.push(l) } });
  return {
    logger,
    lines: () => raw.map((l) => JSON.parse(l) as LogFields),
    text: () => raw.join(''),
  };
}
