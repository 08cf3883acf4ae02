/**
 * The uplink's hot path: one `audio_data` message per 20 ms frame, built into a reused buffer.
 * The bytes are exactly what `JSON.stringify({ id, action: 'audio_data', data, encoding })` gives,
 * without the intermediate object, the base64 string or the JSON string: the frame is
 * base64-encoded straight into the message, and only the turn's id prefix is made per turn.
 */
const B64 = Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/', 'latin1');
const SUFFIX = Buffer.from('","encoding":"base64"}', 'latin1');

export class AudioDataEncoder {
  #buf = Buffer.alloc(2048);
  #id: string | undefined;
  #prefixLength = 0;

  /**
   * The message for `pcm` of turn `id`, as a view of the encoder's buffer: valid until the next
   * call (send it at once: the frame writer copies it while masking).
   */
  encode(id: string, pcm: Int16Array): Buffer {
    const bytes = pcm.byteLength;
    const b64 = 4 * Math.ceil(bytes / 3);
    if (id !== this.#id) this.#setId(id, b64);
    const need = this.#prefixLength + b64 + SUFFIX.length;
    if (need > this.#buf.length) this.#grow(need);
    const buf = this.#buf;
    const src = new Uint8Array(pcm.buffer, pcm.byteOffset, bytes);
    let o = this.#prefixLength;
    let i = 0;
    for (; i + 2 < bytes; i += 3) {
      const n = (src[i]! << 16) | (src[i + 1]! << 8) | src[i + 2]!;
      buf[o++] = B64[n >> 18]!;
      buf[o++] = B64[(n >> 12) & 63]!;
      buf[o++] = B64[(n >> 6) & 63]!;
      buf[o++] = B64[n & 63]!;
    }
    if (i < bytes) {
      const n = (src[i]! << 16) | (i + 1 < bytes ? src[i + 1]! << 8 : 0);
      buf[o++] = B64[n >> 18]!;
      buf[o++] = B64[(n >> 12) & 63]!;
      buf[o++] = i + 1 < bytes ? B64[(n >> 6) & 63]! : 0x3d;
      buf[o++] = 0x3d;
    }
    SUFFIX.copy(buf, o);
    return buf.subarray(0, o + SUFFIX.length);
  }

  #setId(id: string, b64: number): void {
    const prefix = Buffer.from(`{"id":${JSON.stringify(id)},"action":"audio_data","data":"`, 'utf8');
    this.#id = id;
    if (prefix.length + b64 + SUFFIX.length > this.#buf.length) this.#grow(prefix.length + b64 + SUFFIX.length);
    prefix.copy(this.#buf, 0);
    this.#prefixLength = prefix.length;
  }

  #grow(need: number): void {
    const next = Buffer.alloc(Math.max(need, this.#buf.length * 2));
    this.#buf.copy(next, 0, 0, this.#prefixLength);
    this.#buf = next;
  }
}
