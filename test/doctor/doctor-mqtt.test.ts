/** `speaker-agent doctor`'s MQTT check against a real mosquitto (with a password file). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { checkMqtt } from '../../src/doctor/mqtt-check.js';
import { fakeContext } from '../helpers/fake-machine.js';
import { freePort, startBroker, type Broker } from '../support/mosquitto.js';

const CRED = '/etc/speaker-agent/credentials/mqtt-password';
let broker: Broker;

beforeAll(async () => {
  broker = await startBroker({ users: [{ user: 'speaker', password: 'right-horse' }] });
});
afterAll(async () => {
  await broker.close();
});

const cfg = (mqtt: Record<string, unknown>) => parseConfig({ mqtt: { deviceId: 'hall', ...mqtt } });

describe('doctor: mqtt', () => {
  it('is skipped without mqtt.url, and offline', async () => {
    expect(await checkMqtt(fakeContext(), parseConfig({}))).toEqual({ id: 'mqtt', status: 'skip', detail: 'not configured (mqtt.url)' });
    expect((await checkMqtt(fakeContext(), cfg({ url: broker.url }), true)).detail).toBe('not checked (--offline)');
  });

  it('logs in with the password from the installed credential, without showing it', async () => {
    const r = await checkMqtt(fakeContext({ files: { [CRED]: 'right-horse\n' } }), cfg({ url: broker.url, username: 'speaker' }));
    expect(r).toEqual({ id: 'mqtt', status: 'ok', detail: `logged in to ${broker.url} user speaker, password from ${CRED} (not shown); topics speaker-agent/hall/...` });
  });

  it('a wrong password fails with the file to fix', async () => {
    const r = await checkMqtt(fakeContext({ files: { [CRED]: 'wrong-horse\n' } }), cfg({ url: broker.url, username: 'speaker' }));
    expect(r).toMatchObject({ id: 'mqtt', status: 'fail' });
    expect(r.detail).toMatch(new RegExp(`cannot log in to ${broker.url} user speaker: .*(Not authorized|Bad User Name or Password)`, 'i'));
    expect(r.fix).toContain(`check mqtt.username and the password in ${CRED}`);
    expect(JSON.stringify(r)).not.toContain('wrong-horse');
  });

  it('no login where one is needed, a missing password file, and no broker, each with its fix', async () => {
    const anon = await checkMqtt(fakeContext(), cfg({ url: broker.url }));
    expect(anon).toMatchObject({ status: 'fail', fix: expect.stringMatching(/set mqtt.username/) });
    const missing = await checkMqtt(fakeContext(), cfg({ url: broker.url, username: 'speaker', passwordFile: '/etc/nope' }));
    expect(missing).toMatchObject({ status: 'fail', detail: 'mqtt.passwordFile /etc/nope does not exist' });
    const port = await freePort();
    const down = await checkMqtt(fakeContext(), cfg({ url: `mqtt://127.0.0.1:${port}` }));
    expect(down).toMatchObject({ status: 'fail', fix: expect.stringMatching(/is the broker running and listening on 127.0.0.1:/) });
  });
});
