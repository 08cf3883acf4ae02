/**
 * `speaker-agent wake check [--wav FILE]`: checks the Porcupine set-up without starting the agent.
 * Builds the wake word from the same config the agent uses (engine forced to porcupine), prints
 * whether it is available and why not, and with `--wav` runs the recording through the wake word
 * and the end-of-speech detector, printing what they find and when (audio time).
 */
import type { Command } from 'commander';
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
      .description('check the Porcupine AccessKey, keywords and model; with --wav, run a recording through the wake word and end-of-speech detector')
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
  const wakeConfig = { ...config.wake, engine: 'porcupine' as const };
  // Heavy modules load only when the verb runs.
  const [{ PorcupineWake }, { Logger }, { createVad }] = await Promise.all([
    import('../drivers/porcupine/wake.js'),
    import('../log/logger.js'),
    import('../audio/vad-factory.js'),
  ]);
  const log = new Logger({ level: config.log.level === 'debug' ? 'debug' : 'error', format: 'pretty', sink: { write: (l) => process.stderr.write(l) } });
  const wake = new PorcupineWake({ config: wakeConfig, log: log.child('wake'), env, schedule: () => () => {} });
  await wake.start();
  const status = wake.status();
  write(
    status.available
      ? `wake word: ready, listening for ${status.keywords.map((k) => `"${k}"`).join(', ')}\n`
      : `wake word: unavailable: ${status.reason}\n`,
  );
  if (opts.wav) {
    const { loadWavAsCore } = await import('../drivers/wav/mic.js');
    const recording = loadWavAsCore(opts.wav);
    // Two seconds of silence after the recording, so a final speech-end has time to show.
    const pcm = new Int16Array(recording.length + 32000);
    pcm.set(recording);
    const vad = createVad(config.conversation.vad);
    const sec = (samples: number) => (samples / 16000).toFixed(2);
    wake.on('detected', (d) => write(`  ${sec(d.sampleIndex)} s  wake word "${d.keyword}"\n`));
    const frame = 320;
    for (let i = 0; i + frame <= pcm.length; i += frame) {
      if (i <= recording.length && recording.length < i + frame) write(`  ${sec(recording.length)} s  end of ${opts.wav}, 2 s of silence follow\n`);
      const f = pcm.subarray(i, i + frame);
      wake.feed(f, i);
      const ev = vad.process(f);
      if (ev) write(`  ${sec(i + frame)} s  ${ev}\n`);
    }
  }
  await wake.stop();
  return status.available ? 0 : 1;
}
