/**
 * The control socket: local clients (the CLI verbs, LED helpers, home-automation scripts) send
 * JSON commands and can subscribe to the session's events. Mode 0660 so the service's group
 * can use it.
 */
import { chmodSync, existsSync, mkdirSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { Session, SessionEvents } from '../core/session.js';
import { parseRequest, type ControlReply, type ControlRequest } from './protocol.js';

const MAX_LINE = 64 * 1024;

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
  readonly #subscribers = new Set<net.Socket>();
  readonly #sockets = new Set<net.Socket>();
  readonly #log: Logger;

  /**
   * @param extraStatus parts of `status` beyond the session's, by key (e.g. `mqtt`), each read
   *   when a client asks
   */
  constructor(
    private readonly socketPath: string,
    private readonly session: Session,
    log: Logger,
    private readonly extraStatus: Record<string, () => unknown> = {},
  ) {
    this.#log = log.child('control');
    for (const name of Object.keys(WIRE) as (keyof SessionEvents)[]) {
      session.on(name, (payload: unknown) => this.#broadcast(WIRE[name], payload));
    }
  }

  async start(): Promise<void> {
    mkdirSync(path.dirname(this.socketPath), { recursive: true });
    if (existsSync(this.socketPath)) {
      if (await isLive(this.socketPath)) {
        throw new Error(`control socket ${this.socketPath} is in use: is another speaker-agent running? (stop it, or pass --control PATH)`);
      }
      unlinkSync(this.socketPath); // left over from a crash
    }
    const server = net.createServer((sock) => this.#onClient(sock));
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
    chmodSync(this.socketPath, 0o660);
    this.#log.info('listening', { socket: this.socketPath });
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const s of this.#sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    try {
      unlinkSync(this.socketPath);
    } catch {
      // already gone
    }
  }

  #onClient(sock: net.Socket): void {
    this.#sockets.add(sock);
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => {
      buf += chunk;
      if (buf.length > MAX_LINE && !buf.includes('\n')) {
        this.#reply(sock, { ok: false, error: 'request line too long' });
        sock.destroy();
        return;
      }
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line) this.#handle(sock, line);
      }
    });
    sock.on('error', () => undefined);
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
    if (!sock.destroyed) sock.write(JSON.stringify(reply) + '\n');
  }

  #broadcast(event: string, payload: unknown): void {
    if (this.#subscribers.size === 0) return;
    const line = JSON.stringify({ event, ...(payload && typeof payload === 'object' ? payload : { value: payload }), time: new Date().toISOString() }) + '\n';
    for (const sock of this.#subscribers) if (!sock.destroyed) sock.write(line);
  }
}

function isLive(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(socketPath);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}
