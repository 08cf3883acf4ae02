/**
 * The responder side of `Noise_NNpsk0_25519_ChaChaPoly_SHA256`, the handshake the ESPHome API
 * uses for encryption (docs/backends.md, "esphome"), on node:crypto alone: X25519, ChaCha20-
 * Poly1305 and SHA-256/HMAC. The pattern, from the Noise Protocol Framework (revision 34):
 *
 *     -> psk, e          initiator (Home Assistant): its ephemeral key, sealed with the PSK
 *     <- e, ee           responder (the speaker): its ephemeral key and the DH of both
 *
 * Both messages carry an empty payload, so each is a 32-byte key plus a 16-byte tag. A client
 * with a different PSK fails the first tag check: that is the "wrong key" case, answered with
 * "Handshake MAC failure" as ESPHome devices do. After the handshake, `split()` gives one cipher
 * per direction; transport messages have no associated data and a 64-bit counter nonce.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, createPublicKey, diffieHellman, generateKeyPairSync, type KeyObject } from 'node:crypto';

export const NOISE_PROTOCOL = 'Noise_NNpsk0_25519_ChaChaPoly_SHA256';
const DH_LEN = 32;
const TAG_LEN = 16;
const EMPTY = Buffer.alloc(0);
/** DER prefix of an X25519 SubjectPublicKeyInfo; the raw 32-byte key follows it. */
const X25519_SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');
/** Nonces stay far below 2^64 - 1 (reserved); a connection never gets near this many messages. */
const MAX_NONCE = Number.MAX_SAFE_INTEGER;

/** A handshake that cannot go on; `reason` is what the client is told (ESPHome's wording). */
export class NoiseHandshakeError extends Error {
  constructor(
    message: string,
    readonly reason: string,
  ) {
    super(message);
    this.name = 'NoiseHandshakeError';
  }
}

const sha256 = (...parts: Buffer[]): Buffer => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};
const hmac = (key: Buffer, ...parts: Buffer[]): Buffer => {
  const h = createHmac('sha256', key);
  for (const p of parts) h.update(p);
  return h.digest();
};

/** Noise's HKDF: two or three 32-byte outputs chained from HMAC-SHA256. */
function hkdf(chainingKey: Buffer, ikm: Buffer, outputs: 2 | 3): Buffer[] {
  const temp = hmac(chainingKey, ikm);
  const o1 = hmac(temp, Buffer.of(1));
  const o2 = hmac(temp, o1, Buffer.of(2));
  if (outputs === 2) return [o1, o2];
  return [o1, o2, hmac(temp, o2, Buffer.of(3))];
}

function nonce(n: number): Buffer {
  const iv = Buffer.alloc(12);
  iv.writeBigUInt64LE(BigInt(n), 4);
  return iv;
}

function seal(key: Buffer, n: number, ad: Buffer, plain: Buffer): Buffer {
  const c = createCipheriv('chacha20-poly1305', key, nonce(n), { authTagLength: TAG_LEN });
  c.setAAD(ad, { plaintextLength: plain.length });
  const body = Buffer.concat([c.update(plain), c.final()]);
  return Buffer.concat([body, c.getAuthTag()]);
}

/** Opens a sealed message; throws on a bad tag (wrong key, tampering, replay). */
function open(key: Buffer, n: number, ad: Buffer, sealed: Buffer): Buffer {
  if (sealed.length < TAG_LEN) throw new Error('ciphertext shorter than its tag');
  const d = createDecipheriv('chacha20-poly1305', key, nonce(n), { authTagLength: TAG_LEN });
  d.setAAD(ad, { plaintextLength: sealed.length - TAG_LEN });
  d.setAuthTag(sealed.subarray(sealed.length - TAG_LEN));
  return Buffer.concat([d.update(sealed.subarray(0, sealed.length - TAG_LEN)), d.final()]);
}

/** One direction of the transport: a key and its message counter. */
export class CipherState {
  #n = 0;
  constructor(readonly key: Buffer) {}

  encrypt(plain: Buffer): Buffer {
    return seal(this.key, this.#next(), EMPTY, plain);
  }

  /** Throws when the frame does not authenticate; the connection must then close. */
  decrypt(sealed: Buffer): Buffer {
    return open(this.key, this.#next(), EMPTY, sealed);
  }

  #next(): number {
    if (this.#n >= MAX_NONCE) throw new Error('noise nonce exhausted');
    return this.#n++;
  }
}

/** The symmetric state of the handshake (chaining key, hash, current key). */
class SymmetricState {
  h: Buffer;
  ck: Buffer;
  #k: Buffer | undefined;
  #n = 0;

  constructor(protocolName: string) {
    const name = Buffer.from(protocolName, 'ascii');
    this.h = name.length <= 32 ? Buffer.concat([name, Buffer.alloc(32 - name.length)]) : sha256(name);
    this.ck = this.h;
  }

  mixHash(data: Buffer): void {
    this.h = sha256(this.h, data);
  }

  mixKey(ikm: Buffer): void {
    const [ck, k] = hkdf(this.ck, ikm, 2);
    this.ck = ck!;
    this.#k = k!;
    this.#n = 0;
  }

  mixKeyAndHash(ikm: Buffer): void {
    const [ck, h, k] = hkdf(this.ck, ikm, 3);
    this.ck = ck!;
    this.mixHash(h!);
    this.#k = k!;
    this.#n = 0;
  }

  encryptAndHash(plain: Buffer): Buffer {
    const out = this.#k ? seal(this.#k, this.#n++, this.h, plain) : plain;
    this.mixHash(out);
    return out;
  }

  decryptAndHash(data: Buffer): Buffer {
    const out = this.#k ? open(this.#k, this.#n++, this.h, data) : data;
    this.mixHash(data);
    return out;
  }

  split(): [Buffer, Buffer] {
    const [k1, k2] = hkdf(this.ck, EMPTY, 2);
    return [k1!, k2!];
  }
}

export interface EphemeralKey {
  privateKey: KeyObject;
  /** Raw 32-byte public key. */
  publicKey: Buffer;
}

export function generateEphemeral(): EphemeralKey {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  return { privateKey, publicKey: publicKey.export({ format: 'der', type: 'spki' }).subarray(-DH_LEN) };
}

function dh(privateKey: KeyObject, remotePublic: Buffer): Buffer {
  const publicKey = createPublicKey({ key: Buffer.concat([X25519_SPKI_PREFIX, remotePublic]), format: 'der', type: 'spki' });
  return diffieHellman({ privateKey, publicKey });
}

/**
 * One handshake as the responder. Call `readMessage` with the client's handshake message (after
 * its status byte), then `writeMessage` for the reply, then `split`.
 */
export class NoiseResponder {
  readonly #ss = new SymmetricState(NOISE_PROTOCOL);
  readonly #psk: Buffer;
  #re: Buffer | undefined;
  #e: EphemeralKey | undefined;
  readonly #makeEphemeral: () => EphemeralKey;

  constructor(psk: Buffer, prologue: Buffer, ephemeral: () => EphemeralKey = generateEphemeral) {
    if (psk.length !== 32) throw new Error('the pre-shared key must be 32 bytes');
    this.#psk = psk;
    this.#ss.mixHash(prologue);
    this.#makeEphemeral = ephemeral;
  }

  /** `-> psk, e`: throws NoiseHandshakeError; a bad tag means the client holds another key. */
  readMessage(message: Buffer): Buffer {
    if (this.#re) throw new NoiseHandshakeError('handshake message read twice', 'Handshake error');
    if (message.length < DH_LEN + TAG_LEN) {
      throw new NoiseHandshakeError(`handshake message of ${message.length} bytes is too short`, 'Handshake error');
    }
    this.#ss.mixKeyAndHash(this.#psk);
    const re = Buffer.from(message.subarray(0, DH_LEN));
    this.#ss.mixHash(re);
    this.#ss.mixKey(re);
    try {
      const payload = this.#ss.decryptAndHash(message.subarray(DH_LEN));
      this.#re = re;
      return payload;
    } catch {
      throw new NoiseHandshakeError('the client encrypted with a different key', 'Handshake MAC failure');
    }
  }

  /** `<- e, ee`: the reply, 48 bytes. */
  writeMessage(): Buffer {
    if (!this.#re || this.#e) throw new NoiseHandshakeError('handshake out of order', 'Handshake error');
    const e = (this.#e = this.#makeEphemeral());
    this.#ss.mixHash(e.publicKey);
    this.#ss.mixKey(e.publicKey);
    let shared: Buffer;
    try {
      shared = dh(e.privateKey, this.#re);
    } catch {
      // An invalid or low-order public key: no shared secret exists.
      throw new NoiseHandshakeError('the client sent an invalid ephemeral key', 'Handshake error');
    }
    this.#ss.mixKey(shared);
    return Buffer.concat([e.publicKey, this.#ss.encryptAndHash(EMPTY)]);
  }

  /** The transport ciphers: the responder receives with the first key and sends with the second. */
  split(): { send: CipherState; recv: CipherState } {
    if (!this.#e) throw new Error('handshake not finished');
    const [k1, k2] = this.#ss.split();
    return { recv: new CipherState(k1), send: new CipherState(k2) };
  }
}
