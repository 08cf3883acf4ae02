/**
 * `speaker-agent check-backend`: proves the configured backend works from the device, step by
 * step, without microphone or speaker: connect (keys accepted), then for the pipeline one
 * second of silence through speech-to-text, then optionally a typed request through the skill
 * and text-to-speech. Each step says what happened and how long it took.
 */
import { errorMessage } from '../errors.js';
import type { Backend, BackendEvents, ReplyFormat } from '../ports/backend.js';

export interface CheckStep {
  name: 'connect' | 'speech-to-text' | 'reply';
  ok: boolean;
  /** One line for a person. */
  detail: string;
  /** Milliseconds the step took. */
  ms: number;
}

export interface CheckOptions {
  /** Per-step time limit, milliseconds. */
  timeoutMs?: number;
  /** Typed request to send through the backend (skipped for soca, which takes speech only). */
  say?: string;
  /** Clock in milliseconds; injectable for tests. */
  now?: () => number;
}

type Outcome = { [K in keyof BackendEvents]: { name: K; arg: BackendEvents[K][0] } }[keyof BackendEvents];

/** Resolves with the first of `names` the backend emits (matching `pred`), or undefined on timeout. */
function firstOf(backend: Backend, names: (keyof BackendEvents)[], timeoutMs: number, pred: (e: Outcome) => boolean = () => true): Promise<Outcome | undefined> {
  return new Promise((resolve) => {
    const offs: (() => void)[] = [];
    const done = (e: Outcome | undefined): void => {
      clearTimeout(timer);
      for (const off of offs) off();
      resolve(e);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    for (const name of names) {
      const fn = (arg: unknown): void => {
        const e = { name, arg } as Outcome;
        if (pred(e)) done(e);
      };
      backend.on(name, fn as never);
      offs.push(() => backend.off(name, fn as never));
    }
  });
}

function describeFormat(f: ReplyFormat | undefined): string {
  if (!f) return 'no audio';
  return f.codec === 'pcm' ? `PCM ${f.sampleRate} Hz` : f.codec === 'mp3' ? 'MP3' : 'audio';
}

/** Runs the checks; always stops the backend before returning. */
export async function checkBackend(backend: Backend, options: CheckOptions = {}): Promise<CheckStep[]> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const now = options.now ?? (() => performance.now());
  const steps: CheckStep[] = [];
  try {
    let t0 = now();
    const connected = firstOf(backend, ['connected', 'disconnected'], timeoutMs);
    await backend.start();
    const c = backend.connected ? ({ name: 'connected', arg: undefined } as unknown as Outcome) : await connected;
    const ms = () => Math.round(now() - t0);
    if (!c) {
      steps.push({ name: 'connect', ok: false, detail: `${backend.name}: no connection within ${timeoutMs} ms`, ms: ms() });
      return steps;
    }
    if (c.name === 'disconnected') {
      steps.push({ name: 'connect', ok: false, detail: `${backend.name}: ${c.arg.reason}${c.arg.auth ? ' (key refused)' : ''}`, ms: ms() });
      return steps;
    }
    steps.push({ name: 'connect', ok: true, detail: `${backend.name} connected`, ms: ms() });

    if (backend.name === 'pipeline') {
      t0 = now();
      const turnId = 'check-speech-to-text';
      const result = firstOf(backend, ['transcript', 'turnError', 'replyEnd'], timeoutMs, (e) => e.name !== 'transcript' || e.arg.final);
      backend.beginTurn(turnId);
      for (let i = 0; i < 50; i++) backend.sendAudio(turnId, new Int16Array(320));
      backend.endTurn(turnId);
      const r = await result;
      backend.cancelTurn(turnId);
      if (!r) steps.push({ name: 'speech-to-text', ok: false, detail: `no final transcript within ${timeoutMs} ms`, ms: ms() });
      else if (r.name === 'turnError') steps.push({ name: 'speech-to-text', ok: false, detail: r.arg.message, ms: ms() });
      else {
        const text = r.name === 'transcript' ? r.arg.text : '';
        steps.push({ name: 'speech-to-text', ok: true, detail: `1 s of silence transcribed as "${text}" (session opened and closed)`, ms: ms() });
      }
    }

    if (options.say && backend.name !== 'soca') {
      t0 = now();
      const turnId = 'check-reply';
      let format: ReplyFormat | undefined;
      let bytes = 0;
      let firstAudioMs: number | undefined;
      let text = '';
      const onStart = (e: BackendEvents['replyAudioStart'][0]): void => {
        if (e.turnId === turnId) format = e.format;
      };
      const onAudio = (e: BackendEvents['replyAudio'][0]): void => {
        if (e.turnId !== turnId) return;
        firstAudioMs ??= Math.round(now() - t0);
        bytes += e.data.length;
      };
      const onText = (e: BackendEvents['replyText'][0]): void => {
        if (e.turnId === turnId) text = e.text;
      };
      backend.on('replyAudioStart', onStart).on('replyAudio', onAudio).on('replyText', onText);
      const result = firstOf(backend, ['replyEnd', 'turnError'], timeoutMs, (e) => (e.arg as { turnId: unknown }).turnId === turnId);
      backend.sendText(turnId, options.say);
      const r = await result;
      backend.off('replyAudioStart', onStart).off('replyAudio', onAudio).off('replyText', onText);
      if (!r) {
        backend.cancelTurn(turnId);
        steps.push({ name: 'reply', ok: false, detail: `no complete reply within ${timeoutMs} ms`, ms: ms() });
      } else if (r.name === 'turnError') {
        steps.push({ name: 'reply', ok: false, detail: r.arg.message, ms: ms() });
      } else {
        const audio = bytes ? `${bytes} bytes of ${describeFormat(format)}, first after ${firstAudioMs} ms` : 'no audio';
        steps.push({ name: 'reply', ok: bytes > 0 || !text, detail: `"${text}": ${audio}`, ms: ms() });
      }
    }
    return steps;
  } catch (err) {
    steps.push({ name: steps.length ? 'reply' : 'connect', ok: false, detail: errorMessage(err), ms: 0 });
    return steps;
  } finally {
    await backend.stop();
  }
}

/** The steps as text lines, e.g. `ok    connect          soca connected (152 ms)`. */
export function formatSteps(steps: CheckStep[]): string {
  return steps.map((s) => `${(s.ok ? 'ok' : 'FAIL').padEnd(5)} ${s.name.padEnd(15)} ${s.detail} (${s.ms} ms)`).join('\n');
}
