/**
 * The echo half of the openWakeWord bench (`npm run bench -- oww`): libspeexdsp's canceller in
 * the simulated room (RoomEcho) with the product's settings (filter = `audio.echoTailMs`
 * default 200 ms, residual suppression -25 dB during double talk) and the product's guard rule:
 * the session keeps the self-trigger guard (`guardMode: ignore`) for a reply that starts while
 * the canceller has not learnt the room yet (EchoLearning), and drops it once it has.
 *
 * As in the agent, one canceller serves a whole sequence of replies and keeps the room it learnt
 * between them; one wake engine hears the whole sequence. Every sequence starts with a reply
 * that holds no keyword (the first answer after start-up, during which the canceller learns).
 */
import { EchoCanceller, engineFrameSize } from '../src/audio/echo-cancel.js';
import { EchoReference } from '../src/audio/echo-reference.js';
import { AudioSchema, RoomSchema, WakeSchema } from '../src/config/schema.js';
import { ECHO_SUPPRESS_ACTIVE_DB } from '../src/drivers/echo/cancel-input.js';
import { createEchoEngine, ECHO_BANDS, type EchoBand } from '../src/drivers/echo/engine.js';
import { EchoLearning } from '../src/drivers/echo/learning.js';
import { OpenWakeWord } from '../src/drivers/openwakeword/wake.js';
import { RoomEcho } from '../src/drivers/room/acoustics.js';
import { loadSpeexDsp } from '../src/drivers/speex/speexdsp.js';
import { silentLogger } from '../src/log/logger.js';
import { atLevel, mix, RATE, roomNoise, sequence, type Voice } from './fixtures/tts.js';
import { HELD_OUT, RATES, REPLIES, REPLY_VOICES, SELF_REPLY, SELF_REPLY_2, speak, TALKER_DB, VOICES } from './fixtures/wake-speech.js';

/** The room's direct path, ms; the reference sits 20 ms ahead of it as placed live, 10 ms after `test-audio --echo`. */
export const ROOM_DELAY_MS = 40;
export const ALIGNMENTS = { live: 20, tuned: 10 } as const;
const TAIL_MS = 200;
/** The canceller's band: the agent's default (`audio.echoBand`), or `BENCH_OWW_ECHO_BAND=low|full`. */
export const BENCH_ECHO_BAND: EchoBand = (() => {
  const band = process.env.BENCH_OWW_ECHO_BAND ?? AudioSchema.parse({}).echoBand;
  if (!(ECHO_BANDS as readonly string[]).includes(band)) throw new Error(`BENCH_OWW_ECHO_BAND must be ${ECHO_BANDS.join(' or ')}, got ${band}`);
  return band as EchoBand;
})();
const FRAME = 320;

/** A fresh canceller with the product's settings, its reference `leadMs` ahead of the room's echo. */
async function canceller(leadMs: number) {
  const dsp = await loadSpeexDsp();
  const ref = new EchoReference();
  const tail = (TAIL_MS * RATE) / 1000;
  const c = new EchoCanceller(createEchoEngine(dsp, { frameSize: engineFrameSize(320), tailSamples: tail, sampleRate: RATE, band: BENCH_ECHO_BAND, echoSuppressActiveDb: ECHO_SUPPRESS_ACTIVE_DB }), ref, tail);
  const learning = new EchoLearning({ windowSamples: RATE });
  const scratch = new Int16Array(FRAME);
  const shift = ((ROOM_DELAY_MS - leadMs) * RATE) / 1000;
  return {
    learning,
    /** Places what is played from `at` on (the room's timeline). */
    play: (pcm: Int16Array, at: number) => ref.write(Int16Array.from(pcm), at + shift),
    /** Cleans the mic from `at` on, frame by frame; counts CPU seconds. */
    run(mic: Int16Array, at: number, cpu: { s: number }): Int16Array {
      const out = new Int16Array(mic.length);
      const c0 = process.cpuUsage();
      for (let o = 0; o + FRAME <= mic.length; o += FRAME) {
        const f = mic.subarray(o, o + FRAME);
        const r = c.process(f, at + o);
        if (r !== f && !learning.learnt) {
          ref.read(scratch, at + o, tail);
          learning.observe(f, r, scratch);
        }
        out.set(r, o);
      }
      const d = process.cpuUsage(c0);
      cpu.s += (d.user + d.system) / 1e6;
      return out;
    },
    destroy: () => c.destroy(),
  };
}

/** One wake engine over a whole sequence; detections with their sample index. */
async function engine() {
  const hits: number[] = [];
  const wake = new OpenWakeWord({ config: WakeSchema.parse({ engine: 'openwakeword', keyword: 'hey_jarvis' }), log: silentLogger(), maxBacklogMs: Number.POSITIVE_INFINITY });
  wake.on('detected', (d) => hits.push(d.sampleIndex));
  await wake.start();
  if (!wake.status().available) throw new Error(`openWakeWord unavailable: ${wake.status().reason}`);
  let at = 0;
  return {
    hits,
    async feed(pcm: Int16Array): Promise<void> {
      for (let i = 0; i + FRAME <= pcm.length; i += FRAME) {
        wake.feed(pcm.subarray(i, i + FRAME), at);
        at += FRAME;
      }
      await wake.drain();
    },
    stop: () => wake.stop(),
  };
}

interface Case {
  /** What the speaker plays. */
  played: Int16Array;
  /** What the talker says into the room (same length; zeros when nobody talks). */
  talker: Int16Array;
  /** Where a detection counts (samples from the case's start). */
  from: number;
  to: number;
}

type Mode = 'off' | keyof typeof ALIGNMENTS;

interface SequenceResult {
  /** Cases with a detection in their window, guard applied. */
  detected: number;
  /** Cases whose reply started guarded (the canceller still learning). */
  guarded: number;
  cases: number;
  cpuSeconds: number;
  audioSeconds: number;
}

const GAP_MS = 2500;

/** Runs `cases` through one room, one canceller (or none) and one engine, after a warm-up reply. */
async function runSequence(cases: Case[], echoDb: number, mode: Mode, warmup: Int16Array, applyGuard = true): Promise<SequenceResult> {
  const room = new RoomEcho(RoomSchema.parse({ delayMs: ROOM_DELAY_MS, echoDb }));
  const c = mode === 'off' ? null : await canceller(ALIGNMENTS[mode]);
  const e = await engine();
  const cpu = { s: 0 };
  let at = 0;
  let seed = 900;
  let detected = 0;
  let guarded = 0;
  let audio = 0;
  const feedCase = async (played: Int16Array, talker: Int16Array, counted: { from: number; to: number } | null) => {
    const len = played.length + (GAP_MS * RATE) / 1000;
    const p = sequence(played, GAP_MS).subarray(0, len - (len % FRAME));
    const t = sequence(talker, GAP_MS).subarray(0, p.length);
    const wet = new Float32Array(p.length);
    room.process(p, wet);
    const mic = mix(t, wet, roomNoise(p.length, -55, seed++));
    // The session's rule at the start of the reply: guarded unless cancellation works.
    const guard = c ? !c.learning.learnt : true;
    c?.play(played, at);
    const clean = c ? c.run(mic, at, cpu) : mic;
    const first = e.hits.length;
    await e.feed(clean);
    if (counted) {
      if (guard) guarded++;
      const hit = e.hits.slice(first).some((h) => h > at + counted.from && h <= at + counted.to);
      if (hit && !(guard && applyGuard)) detected++;
    }
    at += p.length;
    audio += p.length / RATE;
  };
  await feedCase(warmup, new Int16Array(warmup.length), null);
  for (const k of cases) await feedCase(k.played, k.talker, { from: k.from, to: k.to });
  await e.stop();
  c?.destroy();
  return { detected, guarded, cases: cases.length, cpuSeconds: cpu.s, audioSeconds: audio };
}

const pct = (n: number, of: number) => Math.round((n / of) * 1000) / 10;
const dbName = (db: number) => `echo ${db >= 0 ? '+' : ''}${db} dB`;

/** The keyword spoken 3-5 s into a reply, by each voice; and the same replies with nobody talking. */
function playbackCases(voices: Voice[], replies: Int16Array[]): { keyword: Case[]; replyOnly: Case[] } {
  const keyword: Case[] = [];
  const replyOnly: Case[] = [];
  voices.forEach((voice, n) => {
    const kw = atLevel(speak('hey jarvis', voice), TALKER_DB);
    const reply = replies[n % replies.length]!;
    const startMs = 3000 + (n % 5) * 500;
    const talker = sequence(startMs, kw, 1500);
    const played = sequence(200, reply, 20_000).subarray(0, talker.length);
    const from = (startMs * RATE) / 1000;
    keyword.push({ played, talker, from, to: from + kw.length + RATE });
    replyOnly.push({ played, talker: new Int16Array(played.length), from: 0, to: played.length + (GAP_MS * RATE) / 1000 });
  });
  return { keyword, replyOnly };
}

/** Replies that say "hey jarvis" themselves (twice each): 13 voices x 2 texts x 2 speeds = 52. */
function selfCases(): Case[] {
  const out: Case[] = [];
  for (const v of VOICES) {
    for (const text of [SELF_REPLY, SELF_REPLY_2]) {
      for (const rate of [0.9, 1.1]) {
        const played = sequence(300, atLevel(speak(text, { ...v, rate }), -20), 500);
        out.push({ played, talker: new Int16Array(played.length), from: 0, to: played.length + (GAP_MS * RATE) / 1000 });
      }
    }
  }
  return out;
}

export interface EchoBench {
  duringPlayback: Record<string, Record<string, unknown>>;
  replySaysTheKeyword: Record<string, Record<string, unknown>>;
  cpuPercentWhilePlaying: number;
}

export async function echoBench(): Promise<EchoBench> {
  const replies = REPLIES.map((t, i) => atLevel(speak(t, REPLY_VOICES[i]!), -20));
  const warmup = sequence(200, replies[0]!, 300);
  const tuning = VOICES.flatMap((v) => RATES.map((rate) => ({ ...v, rate })));
  const sets = { tuning: playbackCases(tuning, replies), heldOut: playbackCases(HELD_OUT, replies) };
  const selves = selfCases();
  const during: EchoBench['duringPlayback'] = {};
  const self: EchoBench['replySaysTheKeyword'] = {};
  let cpu = 0;
  let audio = 0;
  for (const echoDb of [0, 6]) {
    const row: Record<string, unknown> = {};
    for (const [name, set] of Object.entries(sets)) {
      const r: Record<string, unknown> = { renditions: set.keyword.length };
      for (const mode of ['off', 'live', 'tuned'] as const) {
        // Without cancellation the engine's raw detections (the session would guard them all).
        const s = await runSequence(set.keyword, echoDb, mode, warmup, mode !== 'off');
        r[mode === 'off' ? 'rateOff' : mode === 'live' ? 'rateOnLive' : 'rateOnTuned'] = pct(s.detected, s.cases);
        if (mode === 'off') r.guardedOff = s.guarded;
        if (mode === 'live') {
          r.guardedOnLive = s.guarded;
          cpu += s.cpuSeconds;
          audio += s.audioSeconds;
        }
      }
      if (name === 'tuning') {
        // The reply alone must never wake it; counted without the guard (the worst case).
        for (const mode of ['off', 'live'] as const) {
          const s = await runSequence(set.replyOnly, echoDb, mode, warmup, false);
          r[mode === 'off' ? 'falseFromReplyOff' : 'falseFromReplyOn'] = s.detected;
        }
      }
      row[`${name} (${name === 'tuning' ? 'the voices the settings were compared on' : 'other voices, speeds and noise'})`] = r;
    }
    during[`${dbName(echoDb)} vs the talker at ${TALKER_DB} dBFS`] = row;
    // Self-triggers: the agent's own reply says the keyword. With cancellation, counted with the
    // guard rule (a reply while still learning is guarded) and without any guard at all.
    const on = await runSequence(selves, echoDb, 'live', warmup, false);
    const onGuarded = await runSequence(selves, echoDb, 'live', warmup);
    const onFirst = await selfFirstReply(selves, echoDb);
    self[dbName(echoDb)] = {
      replies: selves.length,
      wokeOff: (await runSequence(selves, echoDb, 'off', warmup, false)).detected,
      wokeOn: on.detected,
      wokeOnWithTheGuardRule: onGuarded.detected,
      guardedReplies: onGuarded.guarded,
      wokeOnAsTheFirstReplyUnguarded: onFirst,
      note: 'wokeOff: no cancellation and no guard (the session guards every reply then); wokeOn: cancellation on, after the start-up reply, no guard applied; wokeOnWithTheGuardRule: the same with the session rule (a reply that starts while the canceller is still learning is guarded); wokeOnAsTheFirstReplyUnguarded: each reply as the very first one after start, with a fresh canceller and the guard ignored (the session guards such a reply)',
    };
  }
  return { duringPlayback: during, replySaysTheKeyword: self, cpuPercentWhilePlaying: Math.round((cpu / audio) * 100 * 100) / 100 };
}

/** Each reply as the first one after start: a fresh canceller that has learnt nothing. */
async function selfFirstReply(cases: Case[], echoDb: number): Promise<number> {
  let n = 0;
  for (const k of cases) n += await firstReplyHit(k, echoDb);
  return n;
}

async function firstReplyHit(k: Case, echoDb: number): Promise<number> {
  const room = new RoomEcho(RoomSchema.parse({ delayMs: ROOM_DELAY_MS, echoDb }));
  const c = await canceller(ALIGNMENTS.live);
  const e = await engine();
  const p = sequence(k.played, GAP_MS);
  const wet = new Float32Array(p.length);
  room.process(p, wet);
  const mic = mix(new Int16Array(p.length), wet, roomNoise(p.length, -55, 77));
  c.play(k.played, 0);
  await e.feed(c.run(mic, 0, { s: 0 }));
  await e.stop();
  c.destroy();
  return e.hits.length > 0 ? 1 : 0;
}

