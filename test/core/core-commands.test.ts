/**
 * Device commands in `response` payloads (src/core/commands.ts), and through the real agent: a
 * gateway reply that turns the volume up changes the speaker's volume, from where the control
 * socket last set it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { applyCommand, parseCommand, trackVolume } from '../../src/core/commands.js';
import { FakeSpeaker } from '../fakes/index.js';
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

  it('change the speaker volume relative to what was last set by anyone, clamped to 0-100', () => {
    const speaker = new FakeSpeaker();
    const volume = trackVolume(speaker, 50);
    expect(speaker.volume).toBe(50);
    const log = memoryLogger('info');
    applyCommand({ command: 'volume', change: 10 }, volume, log.logger);
    expect(speaker.volume).toBe(60);
    speaker.setVolume(95); // the control socket's `volume` goes through the speaker too
    applyCommand({ command: 'volume', change: 10 }, volume, log.logger);
    expect(speaker.volume).toBe(100);
    applyCommand({ command: 'volume', percent: -5 }, volume, log.logger);
    expect(speaker.volume).toBe(0);
    expect(log.lines().filter((l) => l.event === 'volume-command').map((l) => [l.from, l.to])).toEqual([
      [50, 60],
      [95, 100],
      [100, 0],
    ]);
    applyCommand({ command: 'dim-lights' }, volume, log.logger);
    expect(log.lines().at(-1)).toMatchObject({ event: 'command-ignored' });
    expect(applyCommand({ anything: 1 }, volume, silentLogger())).toBeUndefined();
    expect(speaker.volume).toBe(0);
  });

  it('from a gateway reply, through the real agent', async () => {
    h = await startHarness({
      gateway: { plan: (u) => (u.typed ? { text: 'Turning the volume down.', data: { command: 'volume', change: -10 } } : { text: 'ok' }) },
      config: { audio: { volume: 70 } },
    });
    await connected(h);
    expect(h.speaker.volume).toBe(70);
    const responses: unknown[] = [];
    h.agent.session.on('response', (r) => responses.push(r.data));
    h.speaker.autoDrain = true;
    expect(h.agent.session.say('turn the volume down')).toEqual({ ok: true });
    await waitFor(() => h!.speaker.volume === 60, 'the volume command applied');
    expect(responses).toEqual([{ command: 'volume', change: -10 }]);
    expect(h.agent.session.setVolume(30)).toEqual({ ok: true }); // the control socket's path
    h.agent.session.say('turn the volume down');
    await waitFor(() => h!.speaker.volume === 20, 'relative to what the control socket set');
  });
});
