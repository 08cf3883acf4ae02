/**
 * A WebSocket client (RFC 6455) for the agent's own long-lived connections (the gateway, soca,
 * through util/reconnecting-socket.ts): the opening handshake over `net` or `tls`, frames read
 * and written here, no extensions. It offers the part of the `ws` library's client API that those
 * connections use, with the same events and error wording.
 *
 * Why not `ws` itself: ws's client loads http, https and zlib and its own 14 modules, about
 * 1.8 MiB of the daemon's memory and 25 ms of its start-up CPU for a socket that needs none of
 * them (docs/benchmarks.md, the process tree). ws stays for the servers (the bundled gateway, the
 * tests), the doctor's check and the direct speech services.
 *
 * What it checks, as ws does: the server's Sec-WebSocket-Accept, no extension or subprotocol the
 * client did not ask for, unmasked frames without reserved bits, control frames of at most 125
 * bytes, UTF-8 text and close reasons, close codes, `maxPayload` per message. A violation closes
 * the connection with the RFC's code (1002, 1007, 1009) and emits an error.
 */
import { createHash, randomBytes, randomFillSync } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import type tls from 'node:tls';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { isUtf8 } from 'node:buffer';

export interface WsClientOptions {
  /** Extra request headers (authorization). */
  headers?: Record<string, string>;
  /** The opening handshake must finish within this many milliseconds. */
  handshakeTimeout?: number;
  /** The largest message accepted, in bytes (default 100 MiB, as ws). */
  maxPayload?: number;
  /** Trusted certificates for wss:// (default: Node's bundled roots). */
  ca?: string | Buffer | (string | Buffer)[];
  /** Accepted for ws compatibility; compression is never negotiated. */
  perMessageDeflate?: false;
}

/** What the `upgrade` and `unexpected-response` events carry (the parts of an IncomingMessage used). */
export interface WsResponse {
  statusCode: number;
  headers: Record<string, string>;
  socket: Duplex;
  resume(): void;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Listener = (...args: any[]) => void;

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const MAX_HEADER_BYTES = 16 * 1024;
const CLOSE_TIMEOUT_MS = 30_000;

export class WsClient extends EventEmitter {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  readonly CONNECTING = 0;
  readonly OPEN = 1;
  readonly CLOSING = 2;
  readonly CLOSED = 3;

  readyState = 0;
  readonly url: string;
  readonly #maxPayload: number;
  readonly #socket: net.Socket;
  readonly #key = randomBytes(16).toString('base64');
  #handshake: Buffer | undefined = Buffer.alloc(0);
  #handshakeTimer: NodeJS.Timeout | undefined;
  #closeTimer: NodeJS.Timeout | undefined;
  /** Unparsed frame bytes. */
  #input: Buffer = Buffer.alloc(0);
  #fragments: Buffer[] = [];
  #fragmentBytes = 0;
  #fragmentOpcode = 0;
  #closeSent = false;
  #closeCode = 1006;
  #closeReason = Buffer.alloc(0);
  #closeEmitted = false;
  /** A protocol violation was seen: nothing more is read. */
  #broken = false;

  constructor(address: string | URL, options: WsClientOptions = {}) {
    super();
    const url = new URL(address);
    if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new SyntaxError(`The URL's protocol must be one of "ws:" or "wss:" (not ${url.protocol})`);
    if (url.hash) throw new SyntaxError('The URL contains a fragment identifier');
    this.url = url.href;
    this.#maxPayload = options.maxPayload ?? 100 * 1024 * 1024;
    const secure = url.protocol === 'wss:';
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const port = Number(url.port) || (secure ? 443 : 80);
    const lines = [`GET ${url.pathname}${url.search} HTTP/1.1`, `Host: ${url.host}`, 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Key: ${this.#key}`, 'Sec-WebSocket-Version: 13'];
    for (const [k, v] of Object.entries(options.headers ?? {})) {
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(k) || /[\r\n\0]/.test(v)) throw new TypeError(`Invalid header "${k}": a header name must be a token and its value one line`);
      lines.push(`${k}: ${v}`);
    }
    this.#socket = secure
      ? tlsModule().connect({ host, port, ...(net.isIP(host) ? {} : { servername: host }), ...(options.ca ? { ca: options.ca } : {}) })
      : net.connect({ host, port });
    const s = this.#socket;
    s.setNoDelay(true);
    s.write(`${lines.join('\r\n')}\r\n\r\n`);
    if (options.handshakeTimeout) this.#handshakeTimer = setTimeout(() => this.#abort(new Error('Opening handshake has timed out')), options.handshakeTimeout);
    s.on('data', (d: Buffer) => this.#onData(d));
    s.on('error', (err) => {
      if (this.readyState === WsClient.CONNECTING) this.#abort(err);
      else {
        this.emit('error', err);
        s.destroy();
      }
    });
    s.on('close', () => this.#onSocketClose());
  }

  /** The TCP (or TLS) stream under the connection, for a writer that puts whole frames on it itself. */
  get stream(): Duplex {
    return this.#socket;
  }

  /** Bytes written but not yet sent. */
  get bufferedAmount(): number {
    return this.#socket.writableLength;
  }

  send(data: string | Uint8Array, options?: { binary?: boolean } | ((err?: Error | null) => void), cb?: (err?: Error | null) => void): void {
    const done = typeof options === 'function' ? options : cb;
    const binary = typeof options === 'object' ? options.binary ?? typeof data !== 'string' : typeof data !== 'string';
    if (this.readyState !== WsClient.OPEN) {
      const err = new Error(`WebSocket is not open: readyState ${this.readyState}`);
      if (done) process.nextTick(done, err);
      return;
    }
    const payload = typeof data === 'string' ? Buffer.from(data) : data;
    this.#socket.write(frame(binary ? 2 : 1, payload), done);
  }

  ping(data: Uint8Array = Buffer.alloc(0)): void {
    if (this.readyState === WsClient.OPEN) this.#socket.write(frame(9, data.subarray(0, 125)));
  }

  /** Starts the closing handshake; the socket is cut off if the server does not finish it in 30 s. */
  close(code?: number, reason = ''): void {
    if (this.readyState === WsClient.CLOSED) return;
    if (this.readyState === WsClient.CONNECTING) {
      this.#abort(new Error('WebSocket was closed before the connection was established'));
      return;
    }
    this.#sendClose(code, Buffer.from(reason).subarray(0, 123));
  }

  /** Cuts the connection off at once. */
  terminate(): void {
    if (this.readyState === WsClient.CLOSED) return;
    if (this.readyState === WsClient.CONNECTING) {
      this.#abort(new Error('WebSocket was closed before the connection was established'));
      return;
    }
    this.readyState = WsClient.CLOSING;
    this.#socket.destroy();
  }

  // Typed overloads of the events, as ws names them.
  override on(event: 'open', l: () => void): this;
  override on(event: 'message', l: (data: Buffer, isBinary: boolean) => void): this;
  override on(event: 'ping' | 'pong', l: (data: Buffer) => void): this;
  override on(event: 'close', l: (code: number, reason: Buffer) => void): this;
  override on(event: 'error', l: (err: Error) => void): this;
  override on(event: 'upgrade', l: (res: WsResponse) => void): this;
  override on(event: 'unexpected-response', l: (req: undefined, res: WsResponse) => void): this;
  override on(event: string, l: Listener): this {
    return super.on(event, l);
  }
  override once(event: 'open', l: () => void): this;
  override once(event: 'close', l: (code: number, reason: Buffer) => void): this;
  override once(event: 'error', l: (err: Error) => void): this;
  override once(event: 'upgrade', l: (res: WsResponse) => void): this;
  override once(event: string, l: Listener): this {
    return super.once(event, l);
  }

  #onData(d: Buffer): void {
    if (this.#handshake !== undefined) {
      const got = Buffer.concat([this.#handshake, d]);
      const end = got.indexOf('\r\n\r\n');
      if (end < 0) {
        if (got.length > MAX_HEADER_BYTES) this.#abort(new Error('Invalid HTTP response: the headers are too long'));
        else this.#handshake = got;
        return;
      }
      this.#handshake = undefined;
      if (!this.#onResponse(got.subarray(0, end).toString('latin1'))) return;
      d = got.subarray(end + 4);
      if (d.length === 0) return;
    }
    if (this.readyState === WsClient.CLOSED || this.#broken) return;
    this.#input = this.#input.length ? Buffer.concat([this.#input, d]) : d;
    while (this.#readFrame()) {
      // each complete frame handled in turn
    }
  }

  /** The handshake's response; false when the connection did not open. */
  #onResponse(head: string): boolean {
    clearTimeout(this.#handshakeTimer);
    const [statusLine = '', ...rest] = head.split('\r\n');
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
    const headers: Record<string, string> = {};
    for (const line of rest) {
      const at = line.indexOf(':');
      if (at > 0) headers[line.slice(0, at).trim().toLowerCase()] = line.slice(at + 1).trim();
    }
    const res: WsResponse = { statusCode: status ? Number(status[1]) : 0, headers, socket: this.#socket, resume: () => undefined };
    if (!status) return this.#abort(new Error('Invalid HTTP response: no status line')), false;
    if (res.statusCode !== 101) {
      if (this.listenerCount('unexpected-response') > 0) this.emit('unexpected-response', undefined, res);
      else this.#abort(new Error(`Unexpected server response: ${res.statusCode}`));
      return false;
    }
    this.emit('upgrade', res);
    const accept = createHash('sha1').update(this.#key + GUID).digest('base64');
    const problem =
      headers.upgrade?.toLowerCase() !== 'websocket'
        ? 'Invalid Upgrade header'
        : headers['sec-websocket-accept'] !== accept
          ? 'Invalid Sec-WebSocket-Accept header'
          : headers['sec-websocket-extensions'] !== undefined
            ? 'Server sent a Sec-WebSocket-Extensions header but no extension was requested'
            : headers['sec-websocket-protocol'] !== undefined
              ? 'Server sent a subprotocol but none was requested'
              : undefined;
    if (problem) return this.#abort(new Error(problem)), false;
    this.readyState = WsClient.OPEN;
    this.emit('open');
    return this.readyState === WsClient.OPEN;
  }

  /** Parses and handles one frame from the input; false when it is not complete yet. */
  #readFrame(): boolean {
    const b = this.#input;
    if (b.length < 2 || this.readyState === WsClient.CLOSED || this.#broken) return false;
    const fin = (b[0]! & 0x80) !== 0;
    const opcode = b[0]! & 0x0f;
    let length = b[1]! & 0x7f;
    let at = 2;
    if (length === 126) {
      if (b.length < 4) return false;
      length = b.readUInt16BE(2);
      at = 4;
    } else if (length === 127) {
      if (b.length < 10) return false;
      const high = b.readUInt32BE(2);
      if (high > 0x1fffff) return this.#fail(1009, 'Unsupported WebSocket frame: payload length > 2^53 - 1'), false;
      length = high * 2 ** 32 + b.readUInt32BE(6);
      at = 10;
    }
    if ((b[0]! & 0x70) !== 0) return this.#fail(1002, 'Invalid WebSocket frame: RSV1, RSV2 and RSV3 must be clear'), false;
    if ((b[1]! & 0x80) !== 0) return this.#fail(1002, 'Invalid WebSocket frame: MASK must be clear'), false;
    const control = opcode >= 8;
    if (control && (!fin || length > 125)) return this.#fail(1002, 'Invalid WebSocket frame: a control frame must be final and at most 125 bytes'), false;
    if ((opcode > 2 && opcode < 8) || opcode > 10) return this.#fail(1002, `Invalid WebSocket frame: invalid opcode ${opcode}`), false;
    if (!control && (opcode === 0) === (this.#fragments.length === 0 && this.#fragmentOpcode === 0)) {
      return this.#fail(1002, opcode === 0 ? 'Invalid WebSocket frame: a continuation frame with nothing to continue' : 'Invalid WebSocket frame: a new message inside a fragmented one'), false;
    }
    if (!control && this.#fragmentBytes + length > this.#maxPayload) return this.#fail(1009, 'Max payload size exceeded'), false;
    if (b.length < at + length) return false;
    const payload = b.subarray(at, at + length);
    this.#input = b.subarray(at + length);
    if (control) this.#onControl(opcode, payload);
    else this.#onDataFrame(fin, opcode, payload);
    return true;
  }

  #onDataFrame(fin: boolean, opcode: number, payload: Buffer): void {
    if (opcode !== 0) this.#fragmentOpcode = opcode;
    if (!fin) {
      this.#fragments.push(Buffer.from(payload));
      this.#fragmentBytes += payload.length;
      return;
    }
    const message = this.#fragments.length ? Buffer.concat([...this.#fragments, payload]) : Buffer.from(payload);
    const kind = this.#fragmentOpcode;
    this.#fragments = [];
    this.#fragmentBytes = 0;
    this.#fragmentOpcode = 0;
    if (kind === 1 && !isUtf8(message)) {
      this.#fail(1007, 'Invalid WebSocket frame: invalid UTF-8 sequence');
      return;
    }
    this.emit('message', message, kind === 2);
  }

  #onControl(opcode: number, payload: Buffer): void {
    if (opcode === 9) {
      if (this.readyState === WsClient.OPEN) this.#socket.write(frame(10, payload));
      this.emit('ping', Buffer.from(payload));
    } else if (opcode === 10) {
      this.emit('pong', Buffer.from(payload));
    } else if (opcode === 8) {
      if (payload.length === 1) return this.#fail(1002, 'Invalid WebSocket frame: invalid payload length 1');
      const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
      const reason = payload.subarray(2);
      if (payload.length >= 2 && !validCloseCode(code)) return this.#fail(1002, `Invalid WebSocket frame: invalid status code ${code}`);
      if (!isUtf8(reason)) return this.#fail(1007, 'Invalid WebSocket frame: invalid UTF-8 sequence');
      this.#closeCode = code;
      this.#closeReason = Buffer.from(reason);
      // Answer with the same code (none for none), then the server ends the TCP connection.
      if (!this.#closeSent) this.#sendClose(code === 1005 ? undefined : code, Buffer.alloc(0));
      this.#socket.end();
    }
  }

  #sendClose(code: number | undefined, reason: Buffer): void {
    this.readyState = WsClient.CLOSING;
    if (!this.#closeSent) {
      this.#closeSent = true;
      let body = Buffer.alloc(0);
      if (code !== undefined) {
        body = Buffer.alloc(2 + reason.length);
        body.writeUInt16BE(code, 0);
        reason.copy(body, 2);
      }
      if (this.#socket.writable) this.#socket.write(frame(8, body));
    }
    clearTimeout(this.#closeTimer);
    this.#closeTimer = setTimeout(() => this.#socket.destroy(), CLOSE_TIMEOUT_MS);
    this.#closeTimer.unref();
  }

  /** A protocol violation by the server: close with `code`, and say why. */
  #fail(code: number, message: string): void {
    this.#broken = true;
    this.#input = Buffer.alloc(0);
    this.#sendClose(code, Buffer.alloc(0));
    this.#closeCode = code;
    this.emit('error', Object.assign(new RangeError(message), { code: code === 1009 ? 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' : code === 1007 ? 'WS_ERR_INVALID_UTF8' : 'WS_ERR_INVALID_FRAME' }));
    this.#socket.end();
  }

  /** The connection did not open: error, then close (1006). */
  #abort(err: Error): void {
    if (this.readyState === WsClient.CLOSED) return;
    clearTimeout(this.#handshakeTimer);
    this.readyState = WsClient.CLOSING;
    this.#handshake = undefined;
    this.#socket.destroy();
    this.emit('error', err);
  }

  #onSocketClose(): void {
    // The server hung up during the handshake: an error first, as for any failed opening.
    if (this.readyState === WsClient.CONNECTING) this.#abort(new Error('socket hang up'));
    clearTimeout(this.#handshakeTimer);
    clearTimeout(this.#closeTimer);
    this.readyState = WsClient.CLOSED;
    if (this.#closeEmitted) return;
    this.#closeEmitted = true;
    this.emit('close', this.#closeCode, this.#closeReason);
  }
}

/** node:tls, loaded when first needed (a wss:// connection, a private CA). */
export function tlsModule(): typeof tls {
  return createRequire(import.meta.url)('node:tls') as typeof tls;
}

/** Bytes of a frame's header before its mask: 2, 4 or 10 (RFC 6455 section 5.2). */
export function frameHeaderLength(payloadBytes: number): number {
  return payloadBytes < 126 ? 2 : payloadBytes < 65536 ? 4 : 10;
}

/** A final, masked frame's header (without the mask key) at `at`: FIN, `opcode`, the length. */
export function writeFrameHeader(b: Buffer, at: number, opcode: number, n: number): void {
  b[at] = 0x80 | opcode;
  if (n < 126) b[at + 1] = 0x80 | n;
  else if (n < 65536) {
    b[at + 1] = 0x80 | 126;
    b.writeUInt16BE(n, at + 2);
  } else {
    b[at + 1] = 0x80 | 127;
    b.writeUInt32BE(Math.floor(n / 2 ** 32), at + 2);
    b.writeUInt32BE(n >>> 0, at + 6);
  }
}

/** One final frame, masked with fresh randomness, as a client must send it. */
function frame(opcode: number, payload: Uint8Array): Buffer {
  const n = payload.length;
  const head = frameHeaderLength(n);
  const out = Buffer.allocUnsafe(head + 4 + n);
  writeFrameHeader(out, 0, opcode, n);
  const mask = out.subarray(head, head + 4);
  randomFillSync(mask);
  for (let i = 0; i < n; i++) out[head + 4 + i] = payload[i]! ^ mask[i & 3]!;
  return out;
}

/** Close codes a peer may send (RFC 6455 section 7.4, as ws accepts them). */
function validCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999);
}
