/**
 * Errors from the direct speech services, with a discriminant the backends branch on:
 * `auth` (key rejected: retrying soon will not help), `config` (bad model/voice/rate),
 * `rate_limit` (retry later), `provider` (upstream failed), `protocol` (unexpected message),
 * `network` (could not connect or the socket dropped), `timeout`.
 */
import { AgentError } from '../errors.js';

export type ServiceErrorKind = 'auth' | 'config' | 'rate_limit' | 'provider' | 'protocol' | 'network' | 'timeout';

export class ServiceError extends AgentError {
  constructor(
    /** Which service, for the message: `soca`, `assemblyai`, `slng-stt`, `slng-tts`, `skill`. */
    readonly service: string,
    readonly kind: ServiceErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`service.${kind}`, message, options);
  }

  get auth(): boolean {
    return this.kind === 'auth';
  }
}

/** True for an HTTP status that means the credentials were refused. */
export function isAuthStatus(status: number | undefined): boolean {
  return status === 401 || status === 403;
}
