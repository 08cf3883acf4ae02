/**
 * Who the speaker is to Home Assistant: its device name, MAC address (Home Assistant's device
 * identity) and encryption key. The key is a secret: it comes from `esphome.keyFile` or the
 * systemd credential `esphome-key`, is registered with the logger, and never appears in a log
 * line, status or error. No key means the plaintext protocol, with a warning.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { EsphomeConfig } from '../../config/schema.js';
import { ConfigError } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import { ESPHOME_KEY_CREDENTIAL, readSecretFile, type ReadText } from '../../system/credentials.js';

export interface IdentityDeps {
  env?: NodeJS.ProcessEnv;
  readFile?: ReadText;
  hostname?: () => string;
  interfaces?: () => NodeJS.Dict<os.NetworkInterfaceInfo[]>;
  machineId?: () => string | undefined;
}

export interface Identity {
  name: string;
  friendlyName: string;
  /** `AA:BB:CC:DD:EE:FF` (DeviceInfoResponse). */
  mac: string;
  /** `aabbccddeeff` (the Noise server hello and the mDNS TXT record). */
  compactMac: string;
}

/** A host name made into an ESPHome device name (lowercase, digits, hyphens, at most 31). */
export function deviceName(hostname: string): string {
  const n = hostname
    .toLowerCase()
    .split('.')[0]!
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 31)
    .replace(/-+$/, '');
  return n || 'speaker-agent';
}

function readMachineId(): string | undefined {
  for (const f of ['/etc/machine-id', '/var/lib/dbus/machine-id']) {
    try {
      const id = readFileSync(f, 'utf8').trim();
      if (id) return id;
    } catch {
      // try the next one
    }
  }
  return undefined;
}

/** The first real interface's MAC; else one derived from the machine id (locally administered, stable). */
function pickMac(deps: IdentityDeps): string {
  const ifaces = (deps.interfaces ?? os.networkInterfaces)();
  const names = Object.keys(ifaces).sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  for (const name of names) {
    for (const i of ifaces[name] ?? []) {
      if (!i.internal && i.mac && i.mac !== '00:00:00:00:00:00') return i.mac.toUpperCase();
    }
  }
  const seed = (deps.machineId ?? readMachineId)() ?? (deps.hostname ?? os.hostname)();
  const b = createHash('sha256').update(`speaker-agent:${seed}`).digest().subarray(0, 6);
  b[0] = (b[0]! | 0x02) & 0xfe; // locally administered, unicast
  return [...b].map((x) => x.toString(16).padStart(2, '0').toUpperCase()).join(':');
}

/** Wired interfaces first, then Wi-Fi, then the rest: the identity should not change with the network used. */
function rank(name: string): number {
  if (/^(eth|en)/.test(name)) return 0;
  if (/^(wlan|wl)/.test(name)) return 1;
  return 2;
}

export function identity(config: EsphomeConfig, deps: IdentityDeps = {}): Identity {
  const name = config.name ?? deviceName((deps.hostname ?? os.hostname)());
  const mac = (config.mac ?? pickMac(deps)).toUpperCase();
  return { name, friendlyName: config.friendlyName ?? name, mac, compactMac: mac.replace(/:/g, '').toLowerCase() };
}

/**
 * The 32-byte encryption key, or undefined for plaintext (logged as a warning). An explicit
 * `keyFile` that is missing, empty or not a valid key is a configuration error, never a silent
 * fall-back to plaintext.
 */
export function readEncryptionKey(config: EsphomeConfig, log: Logger, deps: IdentityDeps = {}): Buffer | undefined {
  const env = deps.env ?? process.env;
  let text: string | undefined;
  let where: string;
  if (config.keyFile) {
    where = `esphome.keyFile (${config.keyFile})`;
    try {
      text = readSecretFile(config.keyFile, deps.readFile);
    } catch (err) {
      throw new ConfigError([`esphome.keyFile: cannot read ${config.keyFile} (${(err as NodeJS.ErrnoException).code ?? String(err)})`]);
    }
    if (text === undefined) throw new ConfigError([`esphome.keyFile: ${config.keyFile} is missing or empty; put the base64 key on its first line`]);
  } else if (env.CREDENTIALS_DIRECTORY) {
    where = `the systemd credential ${ESPHOME_KEY_CREDENTIAL}`;
    try {
      text = readSecretFile(path.join(env.CREDENTIALS_DIRECTORY, ESPHOME_KEY_CREDENTIAL), deps.readFile);
    } catch (err) {
      throw new ConfigError([`esphome: cannot read the credential ${ESPHOME_KEY_CREDENTIAL} (${(err as NodeJS.ErrnoException).code ?? String(err)})`]);
    }
  } else {
    where = '';
  }
  if (text === undefined) {
    log.warn('esphome-plaintext', {
      reason: 'no encryption key: anyone on the network can talk to this speaker as Home Assistant',
      fix: 'generate a key (head -c 32 /dev/urandom | base64), store it in a file, set esphome.keyFile (or --esphome-key-file), and enter it in Home Assistant',
    });
    return undefined;
  }
  log.addSecret(text);
  const key = /^[A-Za-z0-9+/]+={0,2}$/.test(text) ? Buffer.from(text, 'base64') : Buffer.alloc(0);
  if (key.length !== 32) {
    throw new ConfigError([`esphome: the key in ${where} is not valid: it must be the base64 of 32 bytes (44 characters), e.g. from \`head -c 32 /dev/urandom | base64\``]);
  }
  return key;
}
