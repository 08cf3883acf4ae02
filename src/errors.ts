/** Errors with a discriminant `code`, so callers branch on the kind, not on message text. */

export class AgentError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A bad configuration value; `issues` holds every problem as `path: message`. */
export class ConfigError extends AgentError {
  constructor(readonly issues: string[]) {
    super('config', issues.join('\n'));
  }
}

/** An expected cancellation (barge-in, stop, shutdown). Never logged as an error. */
export class CanceledError extends AgentError {
  readonly canceled = true;
  constructor(message = 'canceled') {
    super('canceled', message);
  }
}

/** The gateway/backend is not connected; the request was refused. */
export class DisconnectedError extends AgentError {
  constructor(message = 'not connected to the gateway') {
    super('disconnected', message);
  }
}

/** A device (microphone, speaker, GPIO chip) is missing or unusable. */
export class DeviceError extends AgentError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('device', message, options);
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
