/**
 * `speaker-agent wake check [--wav FILE]`: checks the wake word set-up without starting the
 * agent. Builds the engine the agent would use (Porcupine or openWakeWord; `auto` resolved the
 * same way), prints whether it is available and why not, and with `--wav` runs the recording
 * through the wake word and the end-of-speech detector, printing every detection (with its
 * score, where the engine has one) and speech boundary, with its audio time.
 */
import type { Command } from 'commander';
import type { WakeWord } from '../ports/wake-word.js';
import { addConfigFlags, configFromFlags, reportError } from './common.js';

interface WakeCheckOptions {
  wav?: string;
  [flag: string]: unknown;
}

export function registerWakeCommands(program: Command): void {
  const wake = program.command('wake').description('wake word tools');
  addConfigFlags(
    wake
      .command('check')
      .description('check the wake word engine (Porcupine key, openWakeWord runtime and models); with --wav, run a recording through the wake word and end-of-speech detector')
      .option('--wav <file>', 'a WAV recording to run through the wake word and the end-of-speech detector'),
  ).action(async (opts: WakeCheckOptions) => {
    try {
      process.exitCode = await wakeCheck(opts, (s) => process.stdout.write(s));
    } catch (err) {
      process.exitCode = reportError(err);
    }
  });
}

/** Runs the check; returns the exit code (0 ready, 1 unavailable). */
export async function wakeCheck(opts: WakeCheckOptions, write: (s: string) => void, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const config = configFromFlags(opts, env);
  // Heavy modules load only when the verb runs.
  const [{ resolveWakeEngine }, { Logger }, { createVad }] = await Promise.all([
    import('../drivers/registry.js'),
    import('../log/logger.js'),
    import('../audio/vad-factory.js'),
  ]);
  const log = new Logger({ level: config.log.level === 'debug' ? 'debug' : 'error', format: 'pretty', sink: { write: (l) => process.stderr.write(l) } });
  const { engine, why } = await resolveWakeEngine(config, env);
  let wake: WakeWord | undefined;
  let drain = async (): Promise<void> => {};
  if (engine === 'porcupine') {
    const { PorcupineWake } = await import('../drivers/porcupine/wake.js');
    wake = new PorcupineWake({ config: config.wake, log: log.child('wake'), env, schedule: () => () => {} });
  } else if (engine === 'openwakeword') {
    const { OpenWakeWord } = await import('../drivers/openwakeword/wake.js');
    // The whole recording is queued at once: no backlog limit here.
    const oww = new OpenWakeWord({ config: config.wake, log: log.child('wake'), maxBacklogMs: Number.POSITIVE_INFINITY });
    drain = () => oww.drain();
    wake = oww;
  }
  if (wake) await wake.start();
  const status = wake?.status();
  if (!status) write(`wake word: off (${why})\n`);
  else if (!status.available) write(`wake word: unavailable: ${status.reason}\n`);
  else if (status.engine === 'openwakeword') write(`wake word: ready, openWakeWord listening for "${status.keywords[0]}" (threshold ${config.wake.threshold})\n`);
  else write(`wake word: ready, listening for ${status.keywords.map((k) => `"${k}"`).join(', ')}\n`);
  if (status?.notice) write(`  licence: ${status.notice}\n`);
  if (opts.wav) {
    const { loadWavAsCore } = await import('../drivers/wav/mic.js');
    const recording = loadWavAsCore(opts.wav);
    // Two seconds of silence after the recording, so a final speech-end has time to show.
    const pcm = new Int16Array(recording.length + 32000);
    pcm.set(recording);
    const vad = createVad(config.conversation.vad);
    const sec = (samples: number) => (samples / 16000).toFixed(2);
    // Events in audio-time order (openWakeWord scores asynchronously, after the VAD has run).
    const events: { at: number; line: string }[] = [];
    wake?.on('detected', (d) => events.push({ at: d.sampleIndex, line: `  ${sec(d.sampleIndex)} s  wake word "${d.keyword}"${d.score !== undefined ? ` (score ${d.score.toFixed(2)})` : ''}\n` }));
    const frame = 320;
    for (let i = 0; i + frame <= pcm.length; i += frame) {
      if (i <= recording.length && recording.length < i + frame) events.push({ at: recording.length, line: `  ${sec(recording.length)} s  end of ${opts.wav}, 2 s of silence follow\n` });
      const f = pcm.subarray(i, i + frame);
      wake?.feed(f, i);
      const ev = vad.process(f);
      if (ev) events.push({ at: i + frame, line: `  ${sec(i + frame)} s  ${ev}\n` });
    }
    await drain();
    events.sort((a, b) => a.at - b.at);
    for (const e of events) write(e.line);
  }
  await wake?.stop();
  return status?.available ? 0 : 1;
}
