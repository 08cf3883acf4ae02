/**
 * Who this speaker is on the broker: a stable device id (topic level, discovery node id, MQTT
 * client id) and the name Home Assistant shows. See docs/mqtt.md, "Device id".
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import type { MqttConfig } from '../config/schema.js';

/** Application key for the machine-id hash: another program hashing the same id gets another value. */
const APP_KEY = 'speaker-agent/mqtt-device-id/v1';

export interface IdentityDeps {
  /** Reads /etc/machine-id; throws when absent. */
  readMachineId?: () => string;
  hostname?: () => string;
}

export interface Identity {
  deviceId: string;
  name: string;
  /** Where the id came from, for the log line and `status`. */
  source: 'config' | 'machine-id' | 'hostname';
}

/** A host name as a topic level: lower case, anything outside [a-z0-9_-] becomes "-". */
export function topicSafe(name: string): string {
  const s = name
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 64);
  return s || 'speaker';
}

/**
 * The device id: `mqtt.deviceId`, else 12 hex digits of an HMAC of /etc/machine-id (the machine id
 * is meant to stay private, so only a keyed hash of it is published), else the host name.
 */
export function resolveIdentity(config: Pick<MqttConfig, 'deviceId' | 'name'>, deps: IdentityDeps = {}): Identity {
  const hostname = (deps.hostname ?? os.hostname)();
  const name = config.name ?? hostname;
  if (config.deviceId) return { deviceId: config.deviceId, name, source: 'config' };
  let machineId = '';
  try {
    machineId = (deps.readMachineId ?? (() => readFileSync('/etc/machine-id', 'utf8')))().trim();
  } catch {
    // No machine id (a container, an unusual image): the host name stands in.
  }
  if (/^[0-9a-f]{32}$/i.test(machineId)) {
    const hash = createHmac('sha256', machineId.toLowerCase()).update(APP_KEY).digest('hex');
    return { deviceId: hash.slice(0, 12), name, source: 'machine-id' };
  }
  return { deviceId: topicSafe(hostname), name, source: 'hostname' };
}
