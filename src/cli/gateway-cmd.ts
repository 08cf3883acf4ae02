import type { Command } from 'commander';
import type { LocalGatewayOptions } from '../local-gateway/server.js';
import { Logger } from '../log/logger.js';
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
  speech?: string;
  config?: string;
  standIn?: boolean;
  logFormat?: string;
}

export function registerGatewayCommand(program: Command): void {
  program
    .command('gateway')
    .description('run the bundled local audio gateway (for development, demos and tests)')
    .option('-p, --port <port>', 'TCP port (0 picks a free one)', '8080')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--reply-format <format>', 'reply audio: pcm or mp3', 'pcm')
    .option('--audio-data <form>', 'reply audio framing: base64, buffer or binary', 'base64')
    .option('--follow-up <mode>', 'ask for a follow-up (prompt=true): alternate, always or never', 'alternate')
    .option('--pace <factor>', 'reply audio speed relative to real time (0: all at once)', '2')
    .option('--token-file <path>', 'require this bearer token from clients')
    .option('--speech <engine>', 'local reply voice: espeak-ng or tone (default: espeak-ng when installed); also the fallback for a TTS service')
    .option('-c, --config <file>', "agent config file (YAML or JSON) whose pipeline section sets up real speech-to-text and text-to-speech; keys from keyFile, $CREDENTIALS_DIRECTORY or the environment")
    .option('--stand-in', 'ignore configured speech services: stand-in transcripts and the local voice')
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
        let token: string | undefined;
        if (opts.tokenFile) {
          const { readFileSync } = await import('node:fs');
          token = readFileSync(opts.tokenFile, 'utf8').split(/\r?\n/)[0]!.trim();
          log.addSecret(token);
        }
        const services = opts.standIn ? {} : await speechServices(opts.config, log);
        const { LocalGateway } = await import('../local-gateway/server.js');
        const gw = new LocalGateway({
          port,
          pace,
          // A gateway left running for days must not keep every utterance it heard.
          record: false,
          host: opts.host ?? '127.0.0.1',
          replyFormat: choice('reply-format', opts.replyFormat, ['pcm', 'mp3'] as const),
          audioDataForm: choice('audio-data', opts.audioData, ['base64', 'buffer', 'binary'] as const),
          followUp: choice('follow-up', opts.followUp, ['alternate', 'always', 'never'] as const),
          ...(token ? { token } : {}),
          ...(opts.speech ? { speech: choice('speech', opts.speech, ['espeak-ng', 'tone'] as const) } : {}),
          ...services,
          log,
        });
        // Its `listening` line names the engines in use (stt, tts, and the local fallback voice);
        // the keys never appear: the clients registered them as log secrets.
        await gw.start();
        // Machine-readable line for scripts that start the gateway on port 0.
        process.stdout.write(`GATEWAY_URL=${gw.url}\n`);
        process.on('SIGUSR1', () => void gw.pushUnsolicited('This is an unsolicited announcement from the local gateway.'));
        const stop = () => void gw.stop().then(() => process.exit(0));
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      } catch (err) {
        process.exitCode = reportError(err);
      }
    });
}

/**
 * The STT and TTS clients configured in the `pipeline` section of `file` (or of the defaults plus
 * the environment when no file is given) whose keys can be found; none without keys. Loaded
 * lazily so the plain gateway never loads the service clients.
 */
async function speechServices(file: string | undefined, log: Logger): Promise<Pick<LocalGatewayOptions, 'stt' | 'tts'>> {
  const { loadConfig } = await import('../config/load.js');
  const { speechServicesFromConfig } = await import('../backends/speech-services.js');
  const config = loadConfig({ file, env: process.env });
  const found = speechServicesFromConfig(config.pipeline, log);
  return { ...(found.stt ? { stt: found.stt } : {}), ...(found.tts ? { tts: found.tts } : {}) };
}
