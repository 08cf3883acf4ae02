/**
 * The config flags every verb that builds a config takes, the control socket's path and error
 * reporting: what `run` needs from the CLI helpers, without the config loader itself (which
 * `run` runs in a worker thread, src/config/off-thread.ts). common.ts re-exports all of it.
 */
import type { Command } from 'commander';
import { defaultControlSocket } from '../config/paths.js';
import type { Config } from '../config/schema.js';
import { AgentError, ConfigError } from '../errors.js';

/** Flags common to every verb that builds a config: name -> config path. */
export const CONFIG_FLAGS: { flag: string; path: string; help: string; parse?: (v: string) => unknown }[] = [
  { flag: '--backend <name>', path: 'backend', help: 'gateway (default), soca, pipeline or esphome (a Home Assistant voice satellite)' },
  { flag: '--gateway <url>', path: 'gateway.url', help: 'audio gateway WebSocket URL (ws:// or wss://)' },
  { flag: '--token-file <path>', path: 'gateway.tokenFile', help: 'file holding the gateway bearer token' },
  { flag: '--ca-file <path>', path: 'gateway.caFile', help: 'extra CA certificate (PEM) to trust for wss://' },
  { flag: '--esphome-port <port>', path: 'esphome.port', help: 'TCP port Home Assistant connects to (default 6053)', parse: (v) => (/^\d+$/.test(v) ? Number(v) : v) },
  { flag: '--esphome-key-file <path>', path: 'esphome.keyFile', help: 'file holding the ESPHome API encryption key (base64); none means plaintext' },
  { flag: '--mic <spec>', path: 'audio.mic', help: 'microphone: wav:PATH, room:PATH (simulated room, with --speaker room:PATH) or alsa:NAME' },
  { flag: '--speaker <spec>', path: 'audio.speaker', help: 'speaker: wav:PATH, room:PATH or alsa:NAME' },
  { flag: '--echo-cancel <mode>', path: 'audio.echoCancel', help: 'echo cancellation of the mic against what the speaker plays: speex or off' },
  { flag: '--wake <engine>', path: 'wake.engine', help: 'wake word engine: auto (default), none, porcupine or openwakeword' },
  { flag: '--wake-keyword <name|path>', path: 'wake.keyword', help: 'openWakeWord keyword: hey_jarvis (default), alexa, hey_mycroft, hey_rhasspy, weather, or a .onnx model file' },
  { flag: '--gpio <driver>', path: 'gpio.driver', help: 'button/LED driver: none, rpio, gpiod or auto' },
  { flag: '--hardware <name|path>', path: 'hardware', help: 'hardware profile (respeaker-2mic, respeaker-4mic, aiy-voice-hat, aiy-voice-bonnet, usb-mic) or a YAML file' },
  { flag: '--control <path>', path: 'control.socket', help: 'control socket path' },
  { flag: '--mqtt <url>', path: 'mqtt.url', help: 'MQTT broker (mqtt:// or mqtts://) for automations and Home Assistant discovery' },
  { flag: '--push-to-talk', path: 'conversation.pushToTalk', help: 'listen while the button is held' },
  { flag: '--log-level <level>', path: 'log.level', help: 'debug, info, warn or error' },
  { flag: '--log-format <format>', path: 'log.format', help: 'json (for journald) or pretty (for a terminal)' },
];

/** Commander's attribute name for a flag: `--token-file <path>` -> `tokenFile`. */
export function flagKey(flag: string): string {
  const name = flag.split(/[ ,]/)[0]!.replace(/^--/, '');
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

export function addConfigFlags(cmd: Command): Command {
  cmd.option('-c, --config <file>', 'config file (YAML or JSON)');
  for (const f of CONFIG_FLAGS) cmd.option(f.flag, f.help);
  return cmd;
}

/** The flag values of `opts` keyed by config path, and the config file (--config, else $SPEAKER_AGENT_CONFIG). */
export function flagLayer(opts: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): { file: string | undefined; flags: Record<string, unknown> } {
  const flags: Record<string, unknown> = {};
  for (const f of CONFIG_FLAGS) {
    const v = opts[flagKey(f.flag)];
    if (v !== undefined) flags[f.path] = f.parse && typeof v === 'string' ? f.parse(v) : v;
  }
  return { file: (opts.config as string | undefined) ?? env.SPEAKER_AGENT_CONFIG, flags };
}

export function controlPath(config: Pick<Config, 'control'>, env: NodeJS.ProcessEnv = process.env): string {
  return config.control.socket || defaultControlSocket(env);
}

/** Prints an error for a person and returns the exit code. */
export function reportError(err: unknown, write: (s: string) => void = (s) => process.stderr.write(s)): number {
  if (err instanceof ConfigError) {
    write(`speaker-agent: invalid configuration:\n${err.issues.map((i) => `  ${i}`).join('\n')}\n`);
    return 2;
  }
  if (err instanceof AgentError) {
    write(`speaker-agent: ${err.message}\n`);
    return 1;
  }
  write(`speaker-agent: ${err instanceof Error ? err.message : String(err)}\n`);
  return 1;
}
