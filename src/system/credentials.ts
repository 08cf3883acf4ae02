/**
 * systemd credentials: the unit's `LoadCredential=` copies secrets into `$CREDENTIALS_DIRECTORY`
 * (a private, read-only directory only this service can read), so tokens never sit in the
 * config file, the environment or `ps` output. The gateway client (src/gateway/token.ts), the
 * Porcupine adapter, the esphome backend and the MQTT adapter (src/mqtt/options.ts) read their
 * credential there; the installer, the unit and the doctor use these names.
 */
import { readFileSync } from 'node:fs';

/** Credential ID of the audio gateway bearer token (first line of the file). */
export const GATEWAY_TOKEN_CREDENTIAL = 'gateway-token';
/** Credential ID of the Picovoice Porcupine AccessKey (first line of the file). */
export const PORCUPINE_KEY_CREDENTIAL = 'porcupine-access-key';
/** Credential ID of the ESPHome API encryption key (base64, first line) for the esphome backend. */
export const ESPHOME_KEY_CREDENTIAL = 'esphome-key';
/** Credential ID of the MQTT broker password (first line of the file; src/mqtt/options.ts). */
export const MQTT_PASSWORD_CREDENTIAL = 'mqtt-password';

/** Reads a file's text; injectable so callers can be tested without touching disk. */
export type ReadText = (file: string) => string;

const readText: ReadText = (file) => readFileSync(file, 'utf8');

/**
 * The first non-empty line of a secret file, trimmed, or undefined when the file is missing or
 * empty. The installer creates an empty file for a secret the user has not given yet, because
 * `LoadCredential=` refuses to start a unit whose source file is missing. Other errors (EACCES)
 * are thrown.
 */
export function readSecretFile(file: string, read: ReadText = readText): string | undefined {
  let text: string;
  try {
    text = read(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const line = text.split(/\r?\n/).find((l) => l.trim() !== '');
  return line?.trim() || undefined;
}
