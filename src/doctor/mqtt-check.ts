/**
 * Can this device log in to the MQTT broker (`mqtt.url`, docs/mqtt.md)? One connect with the
 * agent's URL, user, password and TLS settings, under a client id of its own (the agent's id
 * would push a running agent off the broker), then a clean disconnect. The password is sent,
 * never printed.
 */
import type { Config } from '../config/schema.js';
import { ConfigError } from '../errors.js';
import { resolveIdentity } from '../mqtt/identity.js';
import { connectOptions, displayUrl } from '../mqtt/options.js';
import { MQTT_PASSWORD_CREDENTIAL } from '../system/credentials.js';
import { credentialFile, findSecret, writeSecretFix } from './config-checks.js';
import type { CheckResult, DoctorContext } from './types.js';

const AUTH_CODES = new Set([4, 5, 134, 135, 138]);

type Outcome = { ok: true } | { ok: false; code?: string | number; message: string };

export async function checkMqtt(ctx: DoctorContext, config: Config, offline = false): Promise<CheckResult> {
  const id = 'mqtt';
  const c = config.mqtt;
  if (!c.url) return { id, status: 'skip', detail: 'not configured (mqtt.url)' };
  if (offline) return { id, status: 'skip', detail: 'not checked (--offline)' };
  const url = displayUrl(c.url);
  const password = findSecret(ctx, id, { file: c.passwordFile, fileKey: 'mqtt.passwordFile', envName: c.passwordEnv, credential: MQTT_PASSWORD_CREDENTIAL });
  if (password.problem?.status === 'fail') return password.problem;
  let conn;
  try {
    conn = connectOptions(c, { readFile: (f) => Buffer.from(ctx.fs.readText(f)) });
  } catch (err) {
    if (err instanceof ConfigError) return { id, status: 'fail', detail: err.issues.join('; '), fix: 'fix the path, or run `sudo speaker-agent doctor` if only root can read it' };
    throw err;
  }
  const who = conn.username ? `user ${conn.username}` : 'anonymously';
  const outcome = await tryConnect(conn, password.found?.value, c, ctx.networkTimeoutMs);
  if (outcome.ok) {
    const me = resolveIdentity(c);
    const pw = password.found ? `, password from ${password.found.source} (not shown)` : '';
    // A password this user could not read is still a warning, even when the broker let us in without it.
    if (password.problem) return password.problem;
    return { id, status: 'ok', detail: `logged in to ${url} ${who}${pw}; topics ${c.prefix}/${me.deviceId}/...` };
  }
  const detail = `cannot log in to ${url} ${who}: ${outcome.message}`;
  const code = outcome.code;
  if (typeof code === 'number' && AUTH_CODES.has(code)) {
    const where = password.found?.source ?? credentialFile(ctx, MQTT_PASSWORD_CREDENTIAL);
    const fix = password.problem?.fix ?? (conn.username ? `check mqtt.username and the password in ${where}: ${writeSecretFix(where)}` : 'the broker wants a login: set mqtt.username and put the password in ' + where);
    return { id, status: 'fail', detail, fix };
  }
  if (code === 'ECONNREFUSED') return { id, status: 'fail', detail, fix: `is the broker running and listening on ${url.replace(/^\w+:\/\//, '')}? (mosquitto: \`systemctl status mosquitto\`)` };
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return { id, status: 'fail', detail, fix: 'check the host name in mqtt.url (and DNS)' };
  if (typeof code === 'string' && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code)) {
    return { id, status: 'fail', detail, fix: 'set mqtt.caFile to the PEM of the CA that signed the broker certificate, and use the host name the certificate names' };
  }
  if (code === 'ETIMEDOUT') return { id, status: 'fail', detail, fix: 'check the address and port in mqtt.url, and firewalls between the speaker and the broker' };
  return { id, status: 'fail', detail, fix: 'check mqtt.url and the broker log' };
}

function tryConnect(conn: ReturnType<typeof connectOptions>, password: string | undefined, c: Config['mqtt'], timeoutMs: number): Promise<Outcome> {
  return import('mqtt').then(
    (mqtt) =>
      new Promise<Outcome>((resolve) => {
        let done = false;
        const client = mqtt.connect(conn.url, {
          clientId: `speaker-agent-doctor-${process.pid}-${Date.now().toString(36)}`,
          protocolVersion: c.protocolVersion,
          clean: true,
          reconnectPeriod: 0,
          connectTimeout: timeoutMs,
          ...(conn.username ? { username: conn.username } : {}),
          ...(password !== undefined ? { password } : {}),
          ...conn.tls,
          rejectUnauthorized: true,
        });
        const finish = (o: Outcome) => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          client.end(true);
          resolve(o);
        };
        const timer = setTimeout(() => finish({ ok: false, code: 'ETIMEDOUT', message: `no answer within ${timeoutMs} ms` }), timeoutMs + 500);
        client.on('connect', () => finish({ ok: true }));
        client.on('error', (err: Error & { code?: string | number }) => finish({ ok: false, ...(err.code !== undefined ? { code: err.code } : {}), message: err.message }));
        client.on('close', () => finish({ ok: false, message: 'the broker closed the connection' }));
      }),
  );
}
