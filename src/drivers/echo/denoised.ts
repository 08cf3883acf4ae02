/**
 * Which capture frames libspeexdsp's preprocessor has already denoised. The echo canceller's
 * residual-echo suppressor needs the preprocessor's denoiser on, so every frame it cleans while
 * a reply plays is denoised already; the wake word's own noise suppressor (`wake.noiseSuppression`)
 * leaves those frames alone rather than denoising twice.
 *
 * The tag is the frame's array itself (the capture path hands the same `Int16Array` from the
 * canceller to the wake word), held weakly: it costs nothing once the frame is gone, and there
 * is nothing to reset between tests.
 */
const denoised = new WeakSet<Int16Array>();

/** Marks `pcm` as already denoised by the echo canceller's preprocessor. */
export function markDenoised(pcm: Int16Array): void {
  denoised.add(pcm);
}

/** True when `pcm` came out of the echo canceller's preprocessor. */
export function wasDenoised(pcm: Int16Array): boolean {
  return denoised.has(pcm);
}
