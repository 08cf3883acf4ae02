/**
 * The control socket: local clients (the CLI verbs, LED helpers, home-automation scripts) send
 * JSON commands and can subscribe to the session's events. Mode 0660 so the service's group
 * can use it.
 *
 * Abuse limits (docs/reliability.md, "Control socket"): at most `maxClients` connections; a
 * client whose replies pile up unread (over `maxBufferedBytes`) is not read from until it reads;
 * an `events` subscriber that falls that far behind is disconnected with a log line; a client
 * that sends nothing for `idleMs` is closed (subscribers excepted). Everything written is
 * scrubbed by the logger's secret rule and bounded (Logger.scrub).
 *
 * The socket file: an existing one is removed only after a connect to it fails (a crashed
 * agent's), never while another agent listens on it, and only if it is a socket; this server
 * removes its socket on stop only if it created it. The socket's directory must not be
 * writable by other users (see src/control/socket-dir.ts).
 */
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { Session, SessionEvents } from '../core/session.js';
import { parseRequest, type ControlReply, type ControlRequest } from './protocol.js';
import { prepareSocketDir, socketFileError } from './socket-dir.js';

const MAX_LINE = 64 * 1024;

export interface ControlLimits {
  /** Connections served at once; more are refused with a reply. Default 32. */
  maxClients: number;
  /** Unread output per client before reading pauses (commands) or it is dropped (events). Default 1 MiB. */
  maxBufferedBytes: number;
  /** A client that sends nothing for this long is closed (not subscribers). Default 60 s. */
  idleMs: number;
}

export const DEFAULT_CONTROL_LIMITS: ControlLimits = { maxClients: 32, maxBufferedBytes: 1024 * 1024, idleMs: 60_000 };

/** Event names on the wire, per session event. */
const WIRE: Record<keyof SessionEvents, string> = {
  state: 'state',
  led: 'led',
  timeline: 'timeline',
  transcript: 'transcript',
  replyText: 'reply_text',
  response: 'response',
  error: 'error',
  notice: 'notice',
  refused: 'refused',
};

export class ControlServer {
  #server: net.Server | undefined;
  /** This server bound the socket file (so it may remove it). */
  #owned = false;
  readonly #subscribers = new Set<net.Socket>();
  readonly #sockets = new Set<net.Socket>();
  readonly #log: Logger;
  readonly #limits: ControlLimits;
  #refused = 0;

  /**
   * @param extraStatus parts of `status` beyond the session's, by key (e.g. `mqtt`), each read
   *   when a client asks
   */
  constructor(
    private readonly socketPath: string,
    private readonly session: Session,
    log: Logger,
    private readonly extraStatus: Record<string, () => unknown> = {},
    limits: Partial<ControlLimits> = {},
  ) {
    this.#log = log.child('control');
    this.#limits = { ...DEFAULT_CONTROL_LIMITS, ...limits };
    for (const name of Object.keys(WIRE) as (keyof SessionEvents)[]) {
      session.on(name, (payload: unknown) => this.#broadcast(WIRE[name], payload));
    }
  }

  async start(): Promise<void> {
    prepareSocketDir(this.socketPath);
    const server = net.createServer((sock) => this.#onClient(sock));
    try {
      await listen(server, this.socketPath);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw socketFileError(this.socketPath, err);
      // Something is at the path: remove it only if it is a socket nobody answers on.
      if (await isLive(this.socketPath)) {
        throw new Error(`control socket ${this.socketPath} is in use: is another speaker-agent running? (stop it, or pass --control PATH)`);
      }
      let st;
      try {
        st = lstatSync(this.socketPath);
      } catch (statErr) {
        throw socketFileError(this.socketPath, statErr);
      }
      if (!st.isSocket()) throw new Error(`control socket ${this.socketPath}: a file that is not a socket is in the way (move it, or pass --control PATH)`);
      this.#log.info('stale-socket-removed', { socket: this.socketPath });
      unlinkSync(this.socketPath); // left over from a crash: nothing answered on it
      try {
        await listen(server, this.socketPath);
      } catch (again) {
        throw socketFileError(this.socketPath, again);
      }
    }
    this.#server = server;
    this.#owned = true;
    server.on('error', (err) => this.#log.error('server-error', { socket: this.socketPath, error: err.message }));
    try {
      chmodSync(this.socketPath, 0o660);
    } catch (err) {
      throw socketFileError(this.socketPath, err);
    }
    this.#log.info('listening', { socket: this.socketPath });
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const s of this.#sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    if (!this.#owned) return; // never remove a socket another agent listens on
    this.#owned = false;
    try {
      unlinkSync(this.socketPath);
    } catch {
      // already gone
    }
  }

  #onClient(sock: net.Socket): void {
    sock.on('error', () => undefined);
    if (this.#sockets.size >= this.#limits.maxClients) {
      // One line per burst of refusals, not per connection.
      if (this.#refused++ % 100 === 0) this.#log.warn('client-refused', { reason: 'too many clients', limit: this.#limits.maxClients, refused: this.#refused });
      // Answered after its request arrives (at most 1 s later), so the client reads why instead
      // of a reset on its write.
      const busy = JSON.stringify({ ok: false, error: `too many control clients (at most ${this.#limits.maxClients})`, reason: 'busy' }) + '\n';
      const answer = () => {
        clearTimeout(timer);
        if (!sock.destroyed) sock.end(busy);
      };
      const timer = setTimeout(answer, 1000);
      sock.once('data', answer);
      sock.once('close', () => clearTimeout(timer));
      return;
    }
    this.#refused = 0;
    this.#sockets.add(sock);
    let buf = '';
    sock.setEncoding('utf8');
    sock.setTimeout(this.#limits.idleMs, () => {
      if (!this.#subscribers.has(sock)) sock.destroy();
    });
    sock.on('data', (chunk: string) => {
      buf += chunk;
      if (buf.length > MAX_LINE && !buf.includes('\n')) {
        this.#reply(sock, { ok: false, error: 'request line too long' });
        sock.destroySoon();
        return;
      }
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line) this.#handle(sock, line);
      }
      // Backpressure: a client that does not read its replies is not read from until it does.
      if (sock.writableLength > this.#limits.maxBufferedBytes && !sock.isPaused()) {
        sock.pause();
        this.#log.debug('client-paused', { bufferedBytes: sock.writableLength });
        sock.once('drain', () => sock.resume());
      }
    });
    sock.on('close', () => {
      this.#sockets.delete(sock);
      this.#subscribers.delete(sock);
    });
  }

  #handle(sock: net.Socket, line: string): void {
    const req = parseRequest(line);
    if (typeof req === 'string') {
      this.#reply(sock, { ok: false, error: req, reason: 'invalid' });
      return;
    }
    try {
      this.#reply(sock, this.#execute(sock, req));
    } catch (err) {
      this.#reply(sock, { ok: false, error: errorMessage(err) });
    }
  }

  #execute(sock: net.Socket, req: ControlRequest): ControlReply {
    this.#log.debug('command', { cmd: req.cmd });
    const s = this.session;
    const result = (() => {
      switch (req.cmd) {
        case 'listen':
          return s.trigger('control');
        case 'stop':
          return s.stopAll();
        case 'mute':
          return s.setMuted(true);
        case 'unmute':
          return s.setMuted(false);
        case 'say':
          return s.say(req.text);
        case 'volume':
          return s.setVolume(req.percent);
        case 'status':
          return { ok: true as const, status: this.#status() };
        case 'events':
          this.#subscribers.add(sock);
          return { ok: true as const, subscribed: true, status: this.#status() };
      }
    })();
    if (result.ok) return result as ControlReply;
    return { ok: false, error: result.message, reason: result.reason };
  }

  #status(): Record<string, unknown> {
    const status: Record<string, unknown> = { ...this.session.status() };
    for (const [key, read] of Object.entries(this.extraStatus)) status[key] = read();
    return status;
  }

  #reply(sock: net.Socket, reply: ControlReply): void {
    if (!sock.destroyed && sock.writable) sock.write(this.#line(reply));
  }

  /** One wire line: scrubbed of secrets, bounded in depth and size, never throws. */
  #line(value: unknown): string {
    return JSON.stringify(this.#log.scrub(value)) + '\n';
  }

  #broadcast(event: string, payload: unknown): void {
    if (this.#subscribers.size === 0) return;
    const line = this.#line({ event, ...(payload && typeof payload === 'object' ? payload : { value: payload }), time: new Date().toISOString() });
    for (const sock of this.#subscribers) {
      if (sock.destroyed) continue;
      if (sock.writableLength > this.#limits.maxBufferedBytes) {
        // A subscriber that stopped reading: its backlog is not kept.
        this.#log.warn('subscriber-dropped', { reason: 'not reading its events', bufferedBytes: sock.writableLength, limit: this.#limits.maxBufferedBytes });
        this.#subscribers.delete(sock);
        sock.destroy();
        continue;
      }
      sock.write(line);
    }
  }
}

/** Resolves once `server` listens on `socketPath`; rejects with the listen error. */
function listen(server: net.Server, socketPath: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(socketPath, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/** True when something accepts a connection at `socketPath` within a second (then it is in use). */
function isLive(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(socketPath);
    const timer = setTimeout(() => {
      c.destroy();
      resolve(true); // no answer, no refusal: do not take it from whoever holds it
    }, 1000);
    c.once('connect', () => {
      clearTimeout(timer);
      c.destroy();
      resolve(true);
    });
    c.once('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}
