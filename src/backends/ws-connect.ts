/**
 * Opens a WebSocket to a speech service with a connect timeout, and turns the ways it can fail
 * into a ServiceError with an actionable message (HTTP 401/403 on the upgrade means the key was
 * refused; DNS and refused connections say which host). The soca backend's reconnecting socket
 * words its failures with the same functions.
 */
import { WebSocket } from '../util/ws-lib.js';
import { ServiceError, isAuthStatus } from './service-error.js';
import { parseBoundedJson } from '../util/bounded.js';

export interface ConnectOptions {
  /** Service name for messages, e.g. `assemblyai`. */
  service: string;
  /** Extra headers on the upgrade request (authorization). */
  headers?: Record<string, string>;
  /** Give up connecting after this many milliseconds. */
  timeoutMs: number;
  /** Largest message accepted, in bytes (default SERVICE_MAX_PAYLOAD). */
  maxPayload?: number;
}

/** Largest message a speech service may send, in bytes, unless a caller says otherwise. */
export const SERVICE_MAX_PAYLOAD = 16 * 1024 * 1024;

export type MessageHandler = (data: WebSocket.RawData, isBinary: boolean) => void;

/** An open socket whose messages are held until `listen()` is called. */
export interface Connected {
  ws: WebSocket;
  /**
   * Starts delivering messages to `handler`, first those that arrived already: a server that
   * speaks first (AssemblyAI's `Begin`) can have its message parsed in the same tick as the
   * upgrade, before a listener added after the promise settled would exist.
   */
  listen(handler: MessageHandler): void;
}

/** Host part of a URL for messages: never the query string, which may carry a token. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

/** ws refused the URL before any I/O. */
export function badUrl(service: string, url: string, err: Error): ServiceError {
  return new ServiceError(service, 'config', `${service}: bad URL ${safeUrl(url)}: ${err.message}`);
}

/** The server answered the upgrade with HTTP `status` instead of a WebSocket. */
export function upgradeRefused(service: string, url: string, status: number): ServiceError {
  if (isAuthStatus(status)) {
    return new ServiceError(service, 'auth', `${service} refused the API key (HTTP ${status} from ${safeUrl(url)}): check the key`);
  }
  if (status === 429) return new ServiceError(service, 'rate_limit', `${service} is rate limiting this key (HTTP 429)`);
  return new ServiceError(service, 'network', `${service} answered HTTP ${status} instead of a WebSocket at ${safeUrl(url)}: check the URL`);
}

/** Connecting failed (DNS, refused connection, TLS, handshake timeout): says which host. */
export function connectFailed(service: string, url: string, err: NodeJS.ErrnoException): ServiceError {
  const why = err.code ? `${err.code}` : err.message;
  return new ServiceError(service, 'network', `${service}: cannot connect to ${safeUrl(url)} (${why})`, { cause: err });
}

/** The socket, already open. Rejects with ServiceError. */
export function connectWs(url: string, options: ConnectOptions): Promise<Connected> {
  return new Promise((resolve, reject) => {
    let ws: WebSocket;
    try {
      ws = new WebSocket(url, {
        headers: options.headers,
        handshakeTimeout: options.timeoutMs,
        maxPayload: options.maxPayload ?? SERVICE_MAX_PAYLOAD,
      });
    } catch (err) {
      reject(badUrl(options.service, url, err as Error));
      return;
    }
    ws.binaryType = 'nodebuffer';
    let held: [WebSocket.RawData, boolean][] | undefined = [];
    let handler: MessageHandler | undefined;
    ws.on('message', (data, isBinary) => {
      if (handler) handler(data, isBinary);
      else held?.push([data, isBinary]);
    });
    const connected: Connected = {
      ws,
      listen: (h) => {
        const early = held ?? [];
        held = undefined;
        for (const [data, isBinary] of early) h(data, isBinary);
        handler = h;
      },
    };
    const fail = (err: ServiceError): void => {
      ws.removeAllListeners();
      ws.on('error', () => {});
      ws.terminate();
      reject(err);
    };
    ws.once('unexpected-response', (_req, res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      fail(upgradeRefused(options.service, url, status));
    });
    ws.once('error', (err: NodeJS.ErrnoException) => fail(connectFailed(options.service, url, err)));
    ws.once('open', () => {
      ws.removeAllListeners('error');
      ws.removeAllListeners('unexpected-response');
      resolve(connected);
    });
  });
}

/** Parses a JSON text frame into an object; undefined when it is not a JSON object. */
export function parseJsonObject(data: WebSocket.RawData): Record<string, unknown> | undefined {
  const parsed = parseBoundedJson(data.toString());
  if (!parsed.ok) return undefined;
  const value = parsed.value;
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}
