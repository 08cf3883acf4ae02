/** Helpers shared by CLI verbs: config loading from flags, finding the installed agent, and error reporting. */
import { existsSync } from 'node:fs';
import { defaultControlSocket, loadConfig, readConfigFile } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { flagLayer } from './flags.js';

export { addConfigFlags, CONFIG_FLAGS, controlPath, flagKey, flagLayer, reportError } from './flags.js';

export function configFromFlags(opts: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): Config {
  const { file, flags } = flagLayer(opts, env);
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
