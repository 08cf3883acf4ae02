/**
 * The ESPHome API's TCP server: accepts clients, gives each an ApiConnection, and routes their
 * messages to one handler. The device-level requests every client may make (device info, entity
 * list, state subscription) are answered through the handler too, so the server stays a router.
 */
import net from 'node:net';
import { AgentError } from '../../errors.js';
import { ApiConnection, type ConnectionOptions } from './connection.js';
import type { Fields } from './proto.js';

/** What each connection gets (ConnectionOptions but its socket), and the listener's own settings. */
export interface ServerOptions extends Omit<ConnectionOptions, 'socket'> {
  port: number;
  /** Address to bind; default all interfaces (Home Assistant runs on another machine). */
  host?: string;
  /** Most clients at once; more are refused (Home Assistant needs one). */
  maxClients?: number;
}

export interface ServerHandler {
  message(conn: ApiConnection, name: string, fields: Fields): void;
  closed(conn: ApiConnection, reason: string): void;
}

export class ApiServer {
  readonly #o: ServerOptions;
  readonly #handler: ServerHandler;
  readonly #clients = new Set<ApiConnection>();
  #server: net.Server | undefined;

  constructor(options: ServerOptions, handler: ServerHandler) {
    this.#o = options;
    this.#handler = handler;
  }

  /** The bound port (useful with port 0). */
  get port(): number {
    const a = this.#server?.address();
    return a && typeof a === 'object' ? a.port : this.#o.port;
  }

  get clients(): ReadonlySet<ApiConnection> {
    return this.#clients;
  }

  async listen(): Promise<void> {
    const server = net.createServer((socket) => this.#accept(socket));
    server.on('error', (err) => this.#o.log.warn('esphome-server-error', { error: err.message }));
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        const why =
          err.code === 'EADDRINUSE'
            ? `port ${this.#o.port} is already in use (another ESPHome device or linux-voice-assistant on this machine?): set esphome.port`
            : err.code === 'EACCES'
              ? `port ${this.#o.port} needs privileges: use a port above 1023 (the default is 6053)`
              : err.message;
        reject(new AgentError('esphome-listen', `esphome: cannot listen on port ${this.#o.port}: ${why}`));
      };
      server.once('error', onError);
      server.listen({ port: this.#o.port, ...(this.#o.host ? { host: this.#o.host } : {}) }, () => {
        server.off('error', onError);
        resolve();
      });
    });
    this.#server = server;
  }

  async close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const c of [...this.#clients]) c.close('the agent is stopping', 'debug');
    if (!server) return;
    // Resolves once every socket is gone; a client that never closes is destroyed by its grace timer.
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  #accept(socket: net.Socket): void {
    const max = this.#o.maxClients ?? 8;
    if (this.#clients.size >= max) {
      this.#o.log.warn('esphome-client-refused', { peer: `${socket.remoteAddress}:${socket.remotePort}`, reason: `already ${max} clients` });
      socket.destroy();
      return;
    }
    const conn = new ApiConnection({
      socket,
      messages: this.#o.messages,
      log: this.#o.log,
      clock: this.#o.clock,
      psk: this.#o.psk,
      name: this.#o.name,
      helloMac: this.#o.helloMac,
      serverInfo: this.#o.serverInfo,
      handshakeTimeoutMs: this.#o.handshakeTimeoutMs,
      idleTimeoutMs: this.#o.idleTimeoutMs,
    });
    this.#clients.add(conn);
    this.#o.log.debug('esphome-client-connected', { peer: conn.peer });
    conn.on('message', (m) => {
      try {
        this.#handler.message(conn, m.name, m.fields);
      } catch (err) {
        // A handler bug must not take the daemon down; the client is dropped instead.
        conn.close(`internal error handling ${m.name}: ${err instanceof Error ? err.message : String(err)}`, 'warn');
      }
    });
    conn.on('closed', (e) => {
      this.#clients.delete(conn);
      this.#handler.closed(conn, e.reason);
    });
  }
}
