/**
 * One client connection of the ESPHome API server (Home Assistant, or a tool such as the ESPHome
 * dashboard): the transport (plaintext, or the Noise handshake then encrypted frames), the
 * connection-level messages (hello, legacy login, ping, disconnect), and every other decoded
 * message handed to the server as a `message` event. Anything malformed closes this connection
 * with a log line; nothing a client sends can throw out of here.
 */
import type { Socket } from 'node:net';
import { errorMessage } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import { TimerSlot, type Scheduler } from '../../util/clock.js';
import { TypedEmitter } from '../../util/typed-emitter.js';
import {
  encodeNoiseFrame,
  encodePlaintext,
  FramingError,
  MAX_FRAME_BYTES,
  NOISE_INDICATOR,
  NoiseFrameDecoder,
  noiseInner,
  parseNoiseInner,
  PLAINTEXT_INDICATOR,
  PlaintextDecoder,
  type Packet,
} from './framing.js';
import { NoiseHandshakeError, NoiseResponder, type CipherState } from './noise.js';
import { MSG, type ApiMessages, type Fields } from './proto.js';

/** API version this server speaks (the one linux-voice-assistant reports; voice feature flags need >= 1.10). */
export const API_VERSION = { major: 1, minor: 10 } as const;
const PROLOGUE_INIT = Buffer.from('NoiseAPIInit', 'ascii');
/** Output queued beyond this means the client stopped reading: drop it rather than buffer forever. */
const MAX_WRITE_BACKLOG = 1024 * 1024;
const CLOSE_GRACE_MS = 2000;

export interface ConnectionOptions {
  socket: Socket;
  messages: ApiMessages;
  log: Logger;
  clock: Scheduler;
  /** Pre-shared key (32 bytes) for Noise; undefined for plaintext. */
  psk: Buffer | undefined;
  /** Device name and MAC (`aabbccddeeff`) for the Noise server hello. */
  name: string;
  helloMac: string;
  /** Fields of HelloResponse. */
  serverInfo: string;
  /** The handshake (and the client's hello) must complete within this. */
  handshakeTimeoutMs: number;
  /** A client silent for this long is dropped (Home Assistant pings every 20 s). */
  idleTimeoutMs: number;
}

export type ConnectionEvents = {
  /** A decoded API message other than the connection-level ones, after the client's hello. */
  message: [{ name: string; fields: Fields }];
  /** The client said hello (`clientInfo` as it named itself). */
  hello: [{ clientInfo: string }];
  closed: [{ reason: string }];
};

type Phase = 'noise-hello' | 'noise-handshake' | 'data' | 'closed';

export class ApiConnection extends TypedEmitter<ConnectionEvents> {
  readonly peer: string;
  #phase: Phase;
  #helloDone = false;
  #clientInfo = '';
  readonly #o: ConnectionOptions;
  readonly #log: Logger;
  readonly #plain = new PlaintextDecoder(MAX_FRAME_BYTES);
  readonly #frames = new NoiseFrameDecoder();
  #responder: NoiseResponder | undefined;
  #send: CipherState | undefined;
  #recv: CipherState | undefined;
  readonly #handshakeTimer: TimerSlot;
  readonly #idleTimer: TimerSlot;
  readonly #closeTimer: TimerSlot;

  constructor(options: ConnectionOptions) {
    super();
    this.#o = options;
    const s = options.socket;
    this.peer = `${s.remoteAddress ?? '?'}:${s.remotePort ?? '?'}`;
    this.#log = options.log;
    this.#phase = options.psk ? 'noise-hello' : 'data';
    this.#handshakeTimer = new TimerSlot(options.clock);
    this.#idleTimer = new TimerSlot(options.clock);
    this.#closeTimer = new TimerSlot(options.clock);
    s.setNoDelay(true);
    s.on('data', (chunk: Buffer) => this.#onData(chunk));
    s.on('error', (err) => this.#log.debug('esphome-socket-error', { peer: this.peer, error: err.message }));
    s.on('close', () => this.#closed('the client closed the connection'));
    this.#handshakeTimer.set(() => {
      if (!this.#helloDone) this.close(`no hello within ${options.handshakeTimeoutMs} ms`, 'warn');
    }, options.handshakeTimeoutMs);
    this.#armIdle();
  }

  get open(): boolean {
    return this.#phase === 'data' && this.#helloDone;
  }

  get encrypted(): boolean {
    return this.#o.psk !== undefined;
  }

  get clientInfo(): string {
    return this.#clientInfo;
  }

  /** Sends one message; false (and nothing sent) when the connection is not open. */
  send(name: string, fields: Fields = {}): boolean {
    if (!this.open) return false;
    let packet: { type: number; payload: Buffer };
    try {
      packet = this.#o.messages.encode(name, fields);
      return this.#sendPacket(packet.type, packet.payload);
    } catch (err) {
      // A message that cannot be encoded or framed is a bug here, not the client's fault: drop it.
      this.#log.warn('esphome-send-failed', { peer: this.peer, message: name, error: errorMessage(err) });
      return false;
    }
  }

  /** Ends the connection (flushing what was written); safe to call twice. */
  close(reason: string, level: 'debug' | 'info' | 'warn' = 'info'): void {
    if (this.#phase === 'closed') return;
    this.#log[level]('esphome-client-closed', { peer: this.peer, reason });
    this.#closed(reason);
    const s = this.#o.socket;
    s.end();
    this.#closeTimer.set(() => s.destroy(), CLOSE_GRACE_MS);
  }

  #closed(reason: string): void {
    if (this.#phase === 'closed') {
      this.#closeTimer.clear();
      return;
    }
    this.#phase = 'closed';
    this.#handshakeTimer.clear();
    this.#idleTimer.clear();
    this.emit('closed', { reason });
  }

  #armIdle(): void {
    this.#idleTimer.set(() => this.close(`nothing received for ${this.#o.idleTimeoutMs} ms`, 'warn'), this.#o.idleTimeoutMs);
  }

  #sendPacket(type: number, payload: Buffer): boolean {
    const s = this.#o.socket;
    if (s.writableLength > MAX_WRITE_BACKLOG) {
      this.close('the client stopped reading (output backlog over 1 MiB)', 'warn');
      return false;
    }
    const bytes = this.#send ? encodeNoiseFrame(this.#send.encrypt(noiseInner(type, payload))) : encodePlaintext(type, payload);
    s.write(bytes);
    return true;
  }

  #onData(chunk: Buffer): void {
    if (this.#phase === 'closed') return;
    this.#armIdle();
    try {
      if (this.#o.psk) {
        for (const frame of this.#frames.push(chunk)) {
          if (this.#isClosed()) return;
          this.#onNoiseFrame(frame);
        }
      } else {
        for (const packet of this.#plain.push(chunk)) {
          if (this.#isClosed()) return;
          this.#onPacket(packet);
        }
      }
    } catch (err) {
      this.#onStreamError(err);
    }
  }

  /** A handler may close the connection mid-chunk (a re-read of the field defeats narrowing). */
  #isClosed(): boolean {
    return this.#phase === 'closed';
  }

  #onStreamError(err: unknown): void {
    const s = this.#o.socket;
    if (err instanceof FramingError && err.indicator === NOISE_INDICATOR && !this.#o.psk) {
      // ESPHome's answer to an encrypting client on a plaintext device: Home Assistant then asks for no key.
      s.write(Buffer.concat([Buffer.of(PLAINTEXT_INDICATOR), Buffer.from('Bad indicator byte', 'ascii')]));
      this.#log.warn('esphome-client-encrypted', {
        peer: this.peer,
        fix: 'the client uses an encryption key but this speaker runs without one: set esphome.keyFile (or remove the key in Home Assistant)',
      });
      this.close('client uses encryption, server is plaintext', 'debug');
      return;
    }
    if (err instanceof FramingError && err.indicator === PLAINTEXT_INDICATOR && this.#o.psk) {
      this.#reject('Bad indicator byte');
      this.#log.warn('esphome-client-unencrypted', {
        peer: this.peer,
        fix: 'this speaker requires encryption: enter its key in Home Assistant (the installer printed it; it is in the file esphome.keyFile names)',
      });
      this.close('client uses plaintext, server requires encryption', 'debug');
      return;
    }
    if (err instanceof NoiseHandshakeError) {
      this.#reject(err.reason);
      if (err.reason === 'Handshake MAC failure') {
        this.#log.warn('esphome-wrong-key', {
          peer: this.peer,
          fix: 'the key entered in Home Assistant is not this speaker\'s: re-enter the key from esphome.keyFile (Home Assistant: the device\'s ESPHome integration, Reconfigure)',
        });
      } else {
        this.#log.warn('esphome-handshake-failed', { peer: this.peer, error: err.message });
      }
      this.close('handshake failed', 'debug');
      return;
    }
    this.close(`invalid data: ${errorMessage(err)}`, 'warn');
  }

  /** ESPHome's explicit handshake rejection: a frame of status 0x01 and a reason. */
  #reject(reason: string): void {
    this.#o.socket.write(encodeNoiseFrame(Buffer.concat([Buffer.of(1), Buffer.from(reason, 'ascii')])));
  }

  #onNoiseFrame(frame: Buffer): void {
    switch (this.#phase) {
      case 'noise-hello': {
        // The client hello's content is reserved; it is bound into the handshake through the prologue.
        const len = Buffer.alloc(2);
        len.writeUInt16BE(frame.length, 0);
        this.#responder = new NoiseResponder(this.#o.psk!, Buffer.concat([PROLOGUE_INIT, len, frame]));
        const hello = Buffer.concat([Buffer.of(1), Buffer.from(this.#o.name, 'utf8'), Buffer.of(0), Buffer.from(this.#o.helloMac, 'ascii'), Buffer.of(0)]);
        this.#o.socket.write(encodeNoiseFrame(hello));
        this.#phase = 'noise-handshake';
        return;
      }
      case 'noise-handshake': {
        if (frame.length === 0) throw new NoiseHandshakeError('empty handshake message', 'Empty handshake message');
        if (frame[0] !== 0) throw new NoiseHandshakeError(`handshake status byte ${frame[0]}`, 'Bad handshake error byte');
        const r = this.#responder!;
        r.readMessage(frame.subarray(1));
        const reply = r.writeMessage();
        this.#o.socket.write(encodeNoiseFrame(Buffer.concat([Buffer.of(0), reply])));
        const { send, recv } = r.split();
        this.#send = send;
        this.#recv = recv;
        this.#responder = undefined;
        this.#frames.maxFrame = MAX_FRAME_BYTES;
        this.#phase = 'data';
        this.#log.debug('esphome-handshake-done', { peer: this.peer });
        return;
      }
      case 'data': {
        let plain: Buffer;
        try {
          plain = this.#recv!.decrypt(frame);
        } catch {
          throw new FramingError('a frame failed to decrypt (corrupted or replayed)');
        }
        this.#onPacket(parseNoiseInner(plain));
        return;
      }
      case 'closed':
        return;
    }
  }

  #onPacket(p: Packet): void {
    switch (p.type) {
      case MSG.HelloRequest: {
        const hello = this.#decode(p);
        this.#clientInfo = String(hello?.fields.client_info ?? '').slice(0, 64);
        this.#helloDone = true;
        this.#handshakeTimer.clear();
        this.send('HelloResponse', {
          api_version_major: API_VERSION.major,
          api_version_minor: API_VERSION.minor,
          server_info: this.#o.serverInfo,
          name: this.#o.name,
        });
        this.#log.info('esphome-client-hello', { peer: this.peer, client: this.#clientInfo, encrypted: this.encrypted });
        this.emit('hello', { clientInfo: this.#clientInfo });
        return;
      }
      case MSG.DisconnectRequest:
        this.#sendPacket(MSG.DisconnectResponse, Buffer.alloc(0));
        this.close('the client disconnected');
        return;
      case MSG.DisconnectResponse:
        this.close('disconnect acknowledged', 'debug');
        return;
      case MSG.PingRequest:
        this.#sendPacket(MSG.PingResponse, Buffer.alloc(0));
        return;
      case MSG.PingResponse:
        return;
    }
    if (!this.#helloDone) {
      this.#log.debug('esphome-before-hello', { peer: this.peer, type: p.type });
      return;
    }
    if (p.type === MSG.AuthenticationRequest) {
      // No password exists here: an empty AuthenticationResponse means "accepted".
      this.#sendPacket(MSG.AuthenticationResponse, Buffer.alloc(0));
      return;
    }
    const msg = this.#decode(p);
    if (msg) this.emit('message', msg);
  }

  /** Decodes a packet; a malformed payload is dropped with a log line (the framing is intact). */
  #decode(p: Packet): { name: string; fields: Fields } | undefined {
    try {
      const m = this.#o.messages.decode(p.type, p.payload);
      if (!m) this.#log.debug('esphome-unknown-message', { peer: this.peer, type: p.type, bytes: p.payload.length });
      return m;
    } catch (err) {
      this.#log.warn('esphome-bad-message', { peer: this.peer, type: p.type, error: errorMessage(err) });
      return undefined;
    }
  }
}
