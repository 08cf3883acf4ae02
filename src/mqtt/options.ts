/**
 * From `mqtt:` settings to what the client connects with: the URL without credentials, the user
 * name, the password (file, systemd credential or environment, read at every connect so a
 * rotated password is picked up), TLS material and the last will. Secrets are returned to the
 * caller only to be handed to the client: they are never part of a message or a log field.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { rootCertificates } from 'node:tls';
import type { MqttConfig } from '../config/schema.js';
import { ConfigError } from '../errors.js';
import { MQTT_PASSWORD_CREDENTIAL, readSecretFile } from '../system/credentials.js';

export interface OptionDeps {
  env?: NodeJS.ProcessEnv;
  /** Reads a file; injectable for tests. */
  readFile?: (file: string) => Buffer;
}

export type PasswordSource = { password: string; source: string } | { password: undefined; source: 'none' };

const readBuffer = (file: string): Buffer => readFileSync(file);

function errno(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? String(err);
}

/**
 * The broker password. Order: `mqtt.passwordFile` (which must be readable and not empty),
 * `$CREDENTIALS_DIRECTORY/mqtt-password` (an empty credential means none), the `passwordEnv`
 * variable. Throws ConfigError naming the file, never the password.
 */
export function readPassword(c: Pick<MqttConfig, 'passwordFile' | 'passwordEnv'>, deps: OptionDeps = {}): PasswordSource {
  const env = deps.env ?? process.env;
  const read = (file: string) => (deps.readFile ?? readBuffer)(file).toString('utf8');
  if (c.passwordFile) {
    let value: string | undefined;
    try {
      value = readSecretFile(c.passwordFile, read);
    } catch (err) {
      throw new ConfigError([`mqtt.passwordFile: cannot read ${c.passwordFile} (${errno(err)})`]);
    }
    if (!value) throw new ConfigError([`mqtt.passwordFile: ${c.passwordFile} is missing or empty; put the password on its first line`]);
    return { password: value, source: `file ${c.passwordFile}` };
  }
  if (env.CREDENTIALS_DIRECTORY) {
    try {
      const value = readSecretFile(path.join(env.CREDENTIALS_DIRECTORY, MQTT_PASSWORD_CREDENTIAL), read);
      if (value) return { password: value, source: `credential ${MQTT_PASSWORD_CREDENTIAL}` };
    } catch {
      // Not readable: the environment may still hold it.
    }
  }
  const fromEnv = env[c.passwordEnv]?.trim();
  if (fromEnv) return { password: fromEnv, source: `environment ${c.passwordEnv}` };
  return { password: undefined, source: 'none' };
}

/** The URL as logs and `status` show it: scheme, host, port and path; no user information. */
export function displayUrl(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
}

export interface ConnectOptions {
  /** Broker URL without user information. */
  url: string;
  username: string | undefined;
  /** TLS material for mqtts/wss (the CA list includes the system's roots when a CA file is given). */
  tls: { ca?: string[]; cert?: Buffer; key?: Buffer };
  secure: boolean;
}

/**
 * Everything but the password and the will (which the client adds). Throws ConfigError when a
 * TLS file cannot be read. A user name in the URL is used when `mqtt.username` is not set.
 */
export function connectOptions(c: MqttConfig, deps: OptionDeps = {}): ConnectOptions {
  if (!c.url) throw new ConfigError(['mqtt.url: not set']);
  const u = new URL(c.url);
  const username = c.username ?? (u.username ? decodeURIComponent(u.username) : undefined);
  u.username = '';
  u.password = '';
  const secure = u.protocol === 'mqtts:' || u.protocol === 'wss:';
  const read = deps.readFile ?? readBuffer;
  const tls: ConnectOptions['tls'] = {};
  const problems: string[] = [];
  const load = (key: 'caFile' | 'certFile' | 'keyFile'): Buffer | undefined => {
    const file = c[key];
    if (!file) return undefined;
    try {
      return read(file);
    } catch (err) {
      problems.push(`mqtt.${key}: cannot read ${file} (${errno(err)})`);
      return undefined;
    }
  };
  const ca = load('caFile');
  const cert = load('certFile');
  const key = load('keyFile');
  if (problems.length) throw new ConfigError(problems);
  if ((ca || cert) && !secure) throw new ConfigError([`mqtt.url: caFile/certFile need a TLS URL (mqtts:// or wss://), got ${u.protocol}//`]);
  if (ca) tls.ca = [...rootCertificates, ca.toString('utf8')];
  if (cert && key) {
    tls.cert = cert;
    tls.key = key;
  }
  return { url: u.toString(), username, tls, secure };
}
