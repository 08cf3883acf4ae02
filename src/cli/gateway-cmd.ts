import type { Command } from 'commander';
import type { SttClient } from '../backends/stt/types.js';
import type { PipelineConfig } from '../config/schema.js';
import type { LocalGatewayOptions } from '../local-gateway/server.js';
import { Logger } from '../log/logger.js';
import type { GrammarSpec } from '../speech/phrases.js';
import { reportError } from './common.js';

/** The verb's flags as commander parses them (values are strings until checked). */
interface GatewayFlags {
  port?: string;
  host?: string;
  replyFormat?: string;
  audioData?: string;
  followUp?: string;
  pace?: string;
  tokenFile?: string;
  tts?: string;
  speech?: string;
  voice?: string;
  recognition?: string;
  config?: string;
  offline?: boolean;
  logFormat?: string;
}

export function registerGatewayCommand(program: Command): void {
  program
    .command('gateway')
    .description('run the bundled local audio gateway: an offline assistant (recognition, skills, voices) for demos, tests and devices without a cloud')
    .option('-p, --port <port>', 'TCP port (0 picks a free one)', '8080')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--reply-format <format>', 'reply audio: pcm or mp3', 'pcm')
    .option('--audio-data <form>', 'reply audio framing: base64, buffer or binary', 'base64')
    .option('--follow-up <mode>', 'ask for a follow-up (prompt=true): skills (when a skill asks a question), alternate, always or never', 'skills')
    .option('--pace <factor>', 'reply audio speed relative to real time (0: all at once)', '2')
    .option('--token-file <path>', 'require this bearer token from clients')
    .option('--recognition <on|off>', 'offline speech recognition with pocketsphinx (a speech-to-text service from --config takes its place)', 'on')
    .option('--tts <engine>', 'reply voice: flite, festival, espeak-ng or tone (default: the best installed, in that order); also the fallback for a TTS service')
    .option('--speech <engine>', 'the same as --tts (older name)')
    .option('--voice <name>', 'voice of the local engine (flite: slt, kal16, awb, rms, kal; festival: cmu_us_slt_arctic_hts; espeak-ng: en-us)')
    .option('-c, --config <file>', 'agent config file (YAML or JSON): its pipeline section may set speech services (keys from keyFile, $CREDENTIALS_DIRECTORY or the environment), pocketsphinx model paths, and the local voice')
    .option('--offline', 'ignore speech services configured in --config: offline recognition and voices only')
    .option('--log-format <format>', 'json or pretty', 'pretty')
    .action(async (opts: GatewayFlags) => {
      const log = new Logger({ format: opts.logFormat === 'json' ? 'json' : 'pretty' });
      try {
        const choice = <T extends string>(name: string, value: string | undefined, allowed: readonly T[]): T => {
          if (value && (allowed as readonly string[]).includes(value)) return value as T;
          throw new Error(`--${name} must be one of ${allowed.join(', ')} (got "${value}")`);
        };
        const pace = Number(opts.pace);
        if (!Number.isFinite(pace) || pace < 0) throw new Error(`--pace must be 0 or more (got "${opts.pace}")`);
        const port = Number(opts.port);
        if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0-65535 (got "${opts.port}")`);
        const recognition = choice('recognition', opts.recognition, ['on', 'off'] as const);
        const ttsFlag = opts.tts ?? opts.speech;
        const { SPEECH_ENGINES } = await import('../local-gateway/speech.js');
        const speech = ttsFlag ? choice(opts.tts ? 'tts' : 'speech', ttsFlag, SPEECH_ENGINES) : undefined;
        let token: string | undefined;
        if (opts.tokenFile) {
          const { readFileSync } = await import('node:fs');
          token = readFileSync(opts.tokenFile, 'utf8').split(/\r?\n/)[0]!.trim();
          log.addSecret(token);
        }
        const host = opts.host ?? '127.0.0.1';
        const { isLoopbackHost } = await import('../gateway/client.js');
        if (!token && !isLoopbackHost(host)) {
          throw new Error(`--host ${host} accepts speakers from other machines: give --token-file so that only yours can connect (or listen on 127.0.0.1)`);
        }
        const { loadConfig } = await import('../config/load.js');
        const pipeline = loadConfig({ file: opts.config, env: process.env }).pipeline;
        const services = opts.offline ? {} : await speechServices(pipeline, log);
        const { LocalGateway } = await import('../local-gateway/server.js');
        const { builtinSkills, skillGrammars } = await import('../local-gateway/assistant.js');
        const skills = builtinSkills();
        let stt: SttClient | undefined = services.stt;
        let recognitionOff: string | undefined;
        if (recognition === 'off') recognitionOff = 'it was turned off (--recognition off)';
        else if (!stt) {
          const made = await localRecognizer(pipeline, skillGrammars(skills), log);
          if (typeof made === 'string') recognitionOff = made;
          else stt = made;
        }
        if (recognitionOff && recognition === 'on') log.warn('recognition-off', { reason: recognitionOff });
        // The config's offline voice is the default when no flag names one.
        const configVoice = pipeline.tts !== 'slng' ? pipeline.tts : undefined;
        const gw = new LocalGateway({
          port,
          pace,
          // A gateway left running for days must not keep every utterance it heard.
          record: false,
          host: opts.host ?? '127.0.0.1',
          replyFormat: choice('reply-format', opts.replyFormat, ['pcm', 'mp3'] as const),
          audioDataForm: choice('audio-data', opts.audioData, ['base64', 'buffer', 'binary'] as const),
          followUp: choice('follow-up', opts.followUp, ['skills', 'alternate', 'always', 'never'] as const),
          ...(token ? { token } : {}),
          ...(speech ? { speech } : configVoice ? { speech: configVoice } : {}),
          ...(opts.voice ? { voice: opts.voice } : !speech && configVoice && pipeline.localTts.voice ? { voice: pipeline.localTts.voice } : {}),
          ...(stt ? { stt } : {}),
          ...(services.tts ? { tts: services.tts } : {}),
          ...(recognitionOff ? { recognitionOff } : {}),
          skills,
          log,
        });
        const engine = gw.speechEngine;
        if (opts.voice && engine !== 'tone') {
          const { checkVoice } = await import('../speech/voices.js');
          const bad = checkVoice(engine, opts.voice);
          if (bad) throw new Error(`--voice: ${bad}`);
        }
        // Its `listening` line names the engines in use (stt, tts, and the local voice); the
        // keys never appear: the clients registered them as log secrets.
        await gw.start();
        // Machine-readable line for scripts that start the gateway on port 0.
        process.stdout.write(`GATEWAY_URL=${gw.url}\n`);
        process.on('SIGUSR1', () => void gw.pushUnsolicited('This is an unsolicited announcement from the local gateway.'));
        const stop = () =>
          void gw.stop().then(() => {
            stt?.close?.();
            process.exit(0);
          });
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      } catch (err) {
        process.exitCode = reportError(err);
      }
    });
}

/**
 * The STT and TTS services configured in `pipeline` whose keys can be found; none without keys.
 * Loaded lazily so the plain gateway never loads the service clients.
 */
async function speechServices(pipeline: PipelineConfig, log: Logger): Promise<Pick<LocalGatewayOptions, 'stt' | 'tts'>> {
  const { speechServicesFromConfig } = await import('../backends/speech-services.js');
  const found = speechServicesFromConfig(pipeline, log);
  return { ...(found.stt ? { stt: found.stt } : {}), ...(found.tts ? { tts: found.tts } : {}) };
}

/**
 * The offline recogniser for the skills' grammars, or why there is none (pocketsphinx or its
 * model not installed): the gateway then runs with recognition off and says so.
 */
async function localRecognizer(pipeline: PipelineConfig, grammars: Record<string, GrammarSpec>, log: Logger): Promise<SttClient | string> {
  const { PocketsphinxStt } = await import('../speech/pocketsphinx.js');
  const { RecognizerUnavailableError } = await import('../speech/pocketsphinx-lib.js');
  const ps = pipeline.pocketsphinx;
  try {
    return new PocketsphinxStt({
      modelDir: ps.modelDir,
      ...(ps.hmm ? { hmm: ps.hmm } : {}),
      ...(ps.dict ? { dict: ps.dict } : {}),
      rejectThreshold: ps.rejectThreshold,
      completeSilenceMs: ps.completeSilenceMs,
      grammars,
      log,
    });
  } catch (err) {
    if (err instanceof RecognizerUnavailableError) return err.message;
    throw err;
  }
}
