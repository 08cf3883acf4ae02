/**
 * Device commands in `response` payloads (src/core/commands.ts), and through the real agent: a
 * gateway reply that turns the volume up changes the speaker's volume, from where the control
 * socket last set it, through the session (the one owner of the volume), so the session's status
 * (what MQTT and Home Assistant read) carries the new value.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { applyCommand, parseCommand, sessionVolume, type VolumeOwner } from '../../src/core/commands.js';
import { memoryLogger, silentLogger } from '../../src/log/logger.js';
import { connected, startHarness, waitFor, type Harness } from '../support/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('volume commands', () => {
  it('parse only well-formed volume commands', () => {
    expect(parseCommand({ command: 'volume', change: 10 })).toEqual({ command: 'volume', change: 10 });
    expect(parseCommand({ command: 'volume', percent: 40 })).toEqual({ command: 'volume', percent: 40 });
    expect(parseCommand({ command: 'volume', change: 'up' })).toBeUndefined();
    expect(parseCommand({ weather: 'sunny' })).toBeUndefined();
    expect(parseCommand(null)).toBeUndefined();
    expect(parseCommand('volume')).toBeUndefined();
  });

  it('change the volume relative to what was last set by anyone, clamped to 0-100', () => {
    // The owner as the session is: it holds the value and reports it in its status.
    let current: number | undefined;
    const owner: VolumeOwner = { status: () => ({ ...(current !== undefined ? { volume: current } : {}) }), setVolume: (p) => ((current = p), { ok: true }) };
    const volume = sessionVolume(owner, 50);
    expect(volume.get()).toBe(50);
    const log = memoryLogger('info');
    applyCommand({ command: 'volume', change: 10 }, volume, log.logger);
    expect(current).toBe(60);
    owner.setVolume(95); // the control socket, MQTT or Home Assistant
    applyCommand({ command: 'volume', change: 10 }, volume, log.logger);
    expect(current).toBe(100);
    applyCommand({ command: 'volume', percent: -5 }, volume, log.logger);
    expect(current).toBe(0);
    expect(log.lines().filter((l) => l.event === 'volume-command').map((l) => [l.from, l.to])).toEqual([
      [50, 60],
      [95, 100],
      [100, 0],
    ]);
    applyCommand({ command: 'dim-lights' }, volume, log.logger);
    expect(log.lines().at(-1)).toMatchObject({ event: 'command-ignored' });
    expect(applyCommand({ anything: 1 }, volume, silentLogger())).toBeUndefined();
    expect(current).toBe(0);
  });

  it('from a gateway reply, through the real agent', async () => {
    h = await startHarness({
      gateway: { plan: (u) => (u.typed ? { text: 'Turning the volume down.', data: { command: 'volume', change: -10 } } : { text: 'ok' }) },
      config: { audio: { volume: 70 } },
    });
    await connected(h);
    expect(h.speaker.volume).toBe(70);
    expect(h.agent.session.status().volume).toBe(70);
    const responses: unknown[] = [];
    const reported: number[] = [];
    h.agent.session.on('response', (r) => responses.push(r.data));
    h.agent.session.on('state', (s) => {
      if (s.volume !== undefined && s.volume !== reported.at(-1)) reported.push(s.volume);
    });
    h.speaker.autoDrain = true;
    expect(h.agent.session.say('turn the volume down')).toEqual({ ok: true });
    await waitFor(() => h!.speaker.volume === 60, 'the volume command applied');
    expect(responses).toEqual([{ command: 'volume', change: -10 }]);
    // The session owns it: its status (what MQTT and Home Assistant publish) follows the command.
    expect(h.agent.session.status().volume).toBe(60);
    expect(h.agent.session.setVolume(30)).toEqual({ ok: true }); // the control socket's path
    h.agent.session.say('turn the volume down');
    await waitFor(() => h!.speaker.volume === 20, 'relative to what the control socket set');
    expect(h.agent.session.status().volume).toBe(20);
    expect(reported).toEqual([70, 60, 30, 20]);
  });
});
