/** Helpers shared by CLI verbs: config loading from flags, finding the installed agent, and error reporting. */
import { existsSync } from 'node:fs';
import path from 'node:path';
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
 * /etc/speaker-agent/config.yaml if it (or, for a user outside the service group, its directory)
 * exists. Socket: --control, else $SPEAKER_AGENT_CONTROL, else that config's control.socket, else
 * this user's default socket if something is there, else the installed service's
 * /run/speaker-agent/control.sock if it or its directory exists, else the default.
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
  // A user outside the service group cannot look into /etc/speaker-agent (0750): the file then
  // seems absent, but its directory says the agent is installed, and reading it says why not.
  else if (exists(installed.config) || exists(path.dirname(installed.config))) [configFile, configSource] = [installed.config, 'installed'];
  const socket = (): string => {
    if (typeof opts.control === 'string' && opts.control) return opts.control;
    if (env.SPEAKER_AGENT_CONTROL) return env.SPEAKER_AGENT_CONTROL;
    if (configFile) {
      let control: { socket?: unknown } | undefined;
      try {
        control = readConfigFile(configFile).control as { socket?: unknown } | undefined;
      } catch (err) {
        // The installed config unreadable (not in the group): the installed socket, whose
        // connection error then gives the "join the service group" fix.
        if (configSource !== 'installed') throw err;
      }
      if (typeof control?.socket === 'string' && control.socket) return control.socket;
    }
    const mine = defaultControlSocket(env);
    if (exists(mine)) return mine;
    // Likewise /run/speaker-agent (0750): its existence is enough to aim at the service.
    if (exists(installed.controlSocket) || exists(path.dirname(installed.controlSocket))) return installed.controlSocket;
    return mine;
  };
  return { ...(configFile ? { configFile } : {}), configSource, controlSocket: socket };
}
