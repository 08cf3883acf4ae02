/**
 * Opens a WebSocket to a speech service with a connect timeout, and turns the ways it can fail
 * into a ServiceError with an actionable message (HTTP 401/403 on the upgrade means the key was
 * refused; DNS and refused connections say which host).
 */
import WebSocket from 'ws';
import { ServiceError, isAuthStatus } from './service-error.js';

export interface ConnectOptions {
  /** Service name for messages, e.g. `assemblyai`. */
  service: string;
  /** Extra headers on the upgrade request (authorization). */
  headers?: Record<string, string>;
  /** Give up connecting after this many milliseconds. */
  timeoutMs: number;
  /** Largest message accepted, in bytes. */
  maxPayload?: number;
}

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

/** The socket, already open. Rejects with ServiceError. */
export function connectWs(url: string, options: ConnectOptions): Promise<Connected> {
  return new Promise((resolve, reject) => {
    let ws: WebSocket;
    try {
      ws = new WebSocket(url, {
        headers: options.headers,
        handshakeTimeout: options.timeoutMs,
        maxPayload: options.maxPayload ?? 16 * 1024 * 1024,
      });
    } catch (err) {
      reject(new ServiceError(options.service, 'config', `${options.service}: bad URL ${safeUrl(url)}: ${(err as Error).message}`));
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
      if (isAuthStatus(status)) {
        fail(new ServiceError(options.service, 'auth', `${options.service} refused the API key (HTTP ${status} from ${safeUrl(url)}): check the key`));
      } else if (status === 429) {
        fail(new ServiceError(options.service, 'rate_limit', `${options.service} is rate limiting this key (HTTP 429)`));
      } else {
        fail(new ServiceError(options.service, 'network', `${options.service} answered HTTP ${status} instead of a WebSocket at ${safeUrl(url)}: check the URL`));
      }
    });
    ws.once('error', (err: NodeJS.ErrnoException) => {
      const why = err.code ? `${err.code}` : err.message;
      fail(new ServiceError(options.service, 'network', `${options.service}: cannot connect to ${safeUrl(url)} (${why})`, { cause: err }));
    });
    ws.once('open', () => {
      ws.removeAllListeners('error');
      ws.removeAllListeners('unexpected-response');
      resolve(connected);
    });
  });
}

/** Parses a JSON text frame into an object; undefined when it is not a JSON object. */
export function parseJsonObject(data: WebSocket.RawData): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(data.toString());
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Int16Array view as bytes without copying (little-endian on every Pi). */
export function pcmBytes(pcm: Int16Array): Buffer {
  return Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength);
}
