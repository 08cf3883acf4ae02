/** Helpers shared by CLI verbs: config loading from flags, finding the installed agent, and error reporting. */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { defaultControlSocket, loadConfig, readConfigFile } from '../config/load.js';
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

export function configFromFlags(opts: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): Config {
  const flags: Record<string, unknown> = {};
  for (const f of CONFIG_FLAGS) {
    const v = opts[flagKey(f.flag)];
    if (v !== undefined) flags[f.path] = f.parse && typeof v === 'string' ? f.parse(v) : v;
  }
  const file = (opts.config as string | undefined) ?? env.SPEAKER_AGENT_CONFIG;
  return loadConfig({ file, env, flags });
}

/** Where scripts/install.sh and systemd/speaker-agent.service put the config and the control socket. */
export const INSTALLED = {
  config: '/etc/speaker-agent/config.yaml',
  /** RuntimeDirectory=speaker-agent + the default name (src/config/load.ts defaultControlSocket). */
  controlSocket: '/run/speaker-agent/control.sock',
};

export interface Located {
  /** The config file to read; undefined: built-in defaults (nothing given, nothing installed). */
  configFile?: string;
  /** Where that choice came from, for messages: "--config", "SPEAKER_AGENT_CONFIG", "installed" or "none". */
  configSource: 'flag' | 'env' | 'installed' | 'none';
  /** The control socket of the running agent (reads the config file, so it may throw ConfigError). */
  controlSocket(): string;
}

/**
 * The one place that decides which config file and control socket a CLI verb uses when the
 * user gives none. Config: --config, else $SPEAKER_AGENT_CONFIG, else the installed
 * /etc/speaker-agent/config.yaml if it exists. Socket: --control, else $SPEAKER_AGENT_CONTROL,
 * else that config's control.socket, else this user's default socket if something is there,
 * else the installed service's /run/speaker-agent/control.sock if it exists, else the default.
 */
export function locate(
  opts: { config?: unknown; control?: unknown },
  env: NodeJS.ProcessEnv = process.env,
  installed: { config: string; controlSocket: string } = INSTALLED,
  exists: (p: string) => boolean = existsSync,
): Located {
  let configFile: string | undefined;
  let configSource: Located['configSource'] = 'none';
  if (typeof opts.config === 'string' && opts.config) [configFile, configSource] = [opts.config, 'flag'];
  else if (env.SPEAKER_AGENT_CONFIG) [configFile, configSource] = [env.SPEAKER_AGENT_CONFIG, 'env'];
  else if (exists(installed.config)) [configFile, configSource] = [installed.config, 'installed'];
  const socket = (): string => {
    if (typeof opts.control === 'string' && opts.control) return opts.control;
    if (env.SPEAKER_AGENT_CONTROL) return env.SPEAKER_AGENT_CONTROL;
    if (configFile) {
      const control = readConfigFile(configFile).control as { socket?: unknown } | undefined;
      if (typeof control?.socket === 'string' && control.socket) return control.socket;
    }
    const mine = defaultControlSocket(env);
    if (exists(mine)) return mine;
    if (exists(installed.controlSocket)) return installed.controlSocket;
    return mine;
  };
  return { ...(configFile ? { configFile } : {}), configSource, controlSocket: socket };
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
