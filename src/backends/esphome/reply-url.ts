/** Plays a URL as one reply audio stream of a turn: fetched over HTTP and emitted as it arrives. */
import { fetchAudio, type FetchAudioOptions } from '../../net/fetch-audio.js';
import type { BackendEvents, TurnId } from '../../ports/backend.js';

export type Emit = <K extends keyof BackendEvents & string>(event: K, ...args: BackendEvents[K]) => void;

export type FetchLimits = Omit<FetchAudioOptions, 'signal'>;

/** Resolves when the stream ended (`replyAudioEnd` emitted); rejects when the fetch failed. */
export async function streamUrl(url: string, turnId: TurnId, emit: Emit, limits: FetchLimits, signal: AbortSignal): Promise<void> {
  let began = false;
  try {
    await fetchAudio(
      url,
      {
        start: (format) => {
          began = true;
          emit('replyAudioStart', { turnId, format });
        },
        data: (data) => {
          if (!signal.aborted) emit('replyAudio', { turnId, data });
        },
        end: () => emit('replyAudioEnd', { turnId }),
      },
      { ...limits, signal },
    );
  } catch (err) {
    // Close the stream that began, so the player plays what arrived and moves on.
    if (began && !signal.aborted) emit('replyAudioEnd', { turnId });
    throw err;
  }
}
