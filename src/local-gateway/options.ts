/** The bundled local gateway's options (./server.ts). */
import type { SttClient } from '../backends/stt/types.js';
import type { TtsClient } from '../backends/tts/slng.js';
import type { Logger } from '../log/logger.js';
import type { GatewaySkill } from './assistant.js';
import type { FollowUpMode, TurnPlan, Utterance } from './plan.js';
import type { SpeechEngine } from './speech.js';

export type { FollowUpMode, TurnPlan, Utterance } from './plan.js';
export type ReplyFormatChoice = 'pcm' | 'mp3';
export type AudioDataForm = 'base64' | 'buffer' | 'binary';

export interface LocalGatewayOptions {
  port?: number;
  host?: string;
  /** Require `Authorization: Bearer <token>`; others get HTTP 401. */
  token?: string;
  replyFormat?: ReplyFormatChoice;
  audioDataForm?: AudioDataForm;
  followUp?: FollowUpMode;
  /** Reply audio pacing relative to real time (2 = twice as fast as it plays; 0 = all at once). */
  pace?: number;
  /** Silence after speech that ends listening, ms (default 700). */
  endSilenceMs?: number;
  /** Longest utterance before the gateway ends listening itself, ms (default 12000). */
  maxUtteranceMs?: number;
  /**
   * Local reply voice (default: the best installed of flite, festival, espeak-ng; else a tone);
   * also the fallback for `tts`. espeak-ng stands in when the chosen engine fails.
   */
  speech?: SpeechEngine;
  /** Voice of the local engine (flite: slt, kal16, awb, rms, kal; festival: cmu_us_slt_arctic_hts; espeak-ng: en-us). */
  voice?: string;
  /**
   * The recogniser: the local pocketsphinx one (src/speech/pocketsphinx.ts, made with
   * `grammars()` of this gateway's skills), or a cloud service client. A failure becomes an
   * `error` message for that turn. Without one, recognition is off and replies say so.
   */
  stt?: SttClient;
  /** Why recognition is off when there is no `stt` (said in the reply), e.g. "pocketsphinx is not installed". */
  recognitionOff?: string;
  /** The skills that answer (default: builtinSkills()). */
  skills?: GatewaySkill[];
  /** Quiet time after a reply finished playing before an unsolicited one is sent, ms (default 600). */
  announceGapMs?: number;
  /** The clock skills read (default: the system's). */
  now?: () => Date;
  /**
   * Text-to-speech service for the reply audio, streamed in the service's own format (PCM at its
   * rate, or MP3) regardless of `replyFormat`. On failure the reply falls back to `speech`.
   */
  tts?: TtsClient;
  /** Longest wait for the final transcript after the end of the utterance, ms (default 10000). */
  sttTimeoutMs?: number;
  /** Longest wait for the complete synthesised reply before falling back, ms (default 20000). */
  ttsTimeoutMs?: number;
  /** Per-request plan instead of the skills (tests script replies with it). */
  plan?: (u: Utterance) => TurnPlan;
  /**
   * Keep every message, PCM and auth header received, for tests and benchmarks (default true).
   * The long-running `speaker-agent gateway` turns it off so its memory stays flat.
   */
  record?: boolean;
  log: Logger;
}

