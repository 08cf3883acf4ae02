/**
 * Home Assistant choosing the wake word: the configuration lists what the engine can detect,
 * `VoiceAssistantSetConfiguration` switches it at run time (no restart), the choice is kept in
 * the preferences file for the next start, and with the real openWakeWord engine a spoken
 * "alexa" (flite) opens a turn once Home Assistant has picked alexa instead of hey jarvis.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { atLevel, sequence, synth, ttsMissing } from '../../bench/fixtures/tts.js';
import { WakeSchema } from '../../src/config/schema.js';
import { NoWakeWord } from '../../src/drivers/none/wake.js';
import { resolveModelFiles } from '../../src/drivers/openwakeword/models.js';
import { PorcupineWake } from '../../src/drivers/porcupine/wake.js';
import { OpenWakeWord } from '../../src/drivers/openwakeword/wake.js';
import { memoryLogger } from '../../src/log/logger.js';
import type { WakeWord } from '../../src/ports/wake-word.js';
import { ScriptedEngine } from '../fakes/index.js';
import { FakeHomeAssistant } from '../support/fake-home-assistant.js';
import { KEY_B64, startEsphome, type EsphomeSetup } from '../support/esphome.js';
import { waitFor } from '../support/harness.js';

let cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

async function satellite(opts: { preferencesFile?: string; wake?: WakeWord } = {}): Promise<{ s: EsphomeSetup; ha: FakeHomeAssistant }> {
  const s = await startEsphome({ key: KEY_B64, agent: true, ...opts });
  cleanups.push(() => s.close());
  const ha = new FakeHomeAssistant({ port: s.backend.port, key: KEY_B64 });
  cleanups.push(() => ha.disconnect());
  await ha.connect();
  ha.subscribeVoice();
  await waitFor(() => s.agent!.agent.session.state.connected, 'the session to see Home Assistant');
  return { s, ha };
}

function tmpPrefs(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sa-prefs-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'esphome-preferences.json');
}

async function configuration(ha: FakeHomeAssistant): Promise<Record<string, unknown>> {
  ha.send('VoiceAssistantConfigurationRequest', {});
  return ha.next('VoiceAssistantConfigurationResponse');
}

describe('esphome backend: the wake word Home Assistant chooses', () => {
  it('lists what the engine can detect, switches at run time, keeps the choice for the next start', async () => {
    const prefs = tmpPrefs();
    const { s, ha } = await satellite({ preferencesFile: prefs });
    expect(await configuration(ha)).toMatchObject({
      availableWakeWordsList: [
        { id: 'fake', wakeWord: 'fake', trainedLanguagesList: ['en'] },
        { id: 'other_word', wakeWord: 'other word', trainedLanguagesList: ['en'] },
      ],
      activeWakeWordsList: ['fake'],
      maxActiveWakeWords: 1,
    });
    ha.send('VoiceAssistantSetConfiguration', { activeWakeWordsList: ['other_word'] });
    await waitFor(() => s.agent!.wake.status().keywords[0] === 'other word', 'the keyword switched');
    expect(s.agent!.agent.session.status().wake.keywords).toEqual(['other word']);
    expect((await configuration(ha)).activeWakeWordsList).toEqual(['other_word']);
    await waitFor(() => s.log.text().includes('esphome-wake-word-set'), 'the change logged');
    expect(JSON.parse(readFileSync(prefs, 'utf8'))).toEqual({ activeWakeWords: ['other_word'] });
    // The turn a detection opens names the new phrase.
    s.agent!.wake.detect();
    expect(await ha.next('VoiceAssistantRequest', (m) => m.start === true)).toMatchObject({ wakeWordPhrase: 'other word' });

    // A word the engine cannot detect is refused and changes nothing.
    ha.send('VoiceAssistantSetConfiguration', { activeWakeWordsList: ['okay_nabu'] });
    await waitFor(() => s.log.text().includes('esphome-wake-word-refused'), 'the refusal logged');
    expect(s.agent!.wake.status().keywords).toEqual(['other word']);
    expect(JSON.parse(readFileSync(prefs, 'utf8'))).toEqual({ activeWakeWords: ['other_word'] });

    // The next start listens for the saved choice before Home Assistant says anything.
    await s.close();
    const again = await startEsphome({ key: KEY_B64, agent: true, preferencesFile: prefs });
    cleanups.push(() => again.close());
    expect(again.agent!.wake.status().keywords).toEqual(['other word']);
  });

  it('a damaged preferences file is ignored with one warning; the agent starts', async () => {
    const prefs = tmpPrefs();
    writeFileSync(prefs, '{"activeWakeWords": [tru');
    const s = await startEsphome({ key: KEY_B64, agent: true, preferencesFile: prefs });
    cleanups.push(() => s.close());
    expect(s.agent!.wake.status().keywords).toEqual(['fake']);
    expect(s.log.text()).toContain('esphome-preferences-unreadable');
  });
});

describe('esphome backend: engines that cannot switch', () => {
  /** Retries are scheduled but never run. */
  const never = () => () => {};

  it('Porcupine offers its configured keywords only, all active; another choice is refused and changes nothing', async () => {
    const wake = new PorcupineWake({
      config: WakeSchema.parse({ engine: 'porcupine', keywords: ['computer', 'jarvis'], accessKeyEnv: 'TEST_PV_KEY' }),
      log: memoryLogger('debug').logger,
      env: { TEST_PV_KEY: 'test-key-123456' },
      schedule: never,
      factory: (request) => new ScriptedEngine(request),
    });
    const { s, ha } = await satellite({ wake });
    expect(await configuration(ha)).toMatchObject({
      availableWakeWordsList: [{ id: 'computer' }, { id: 'jarvis' }],
      activeWakeWordsList: ['computer', 'jarvis'],
      maxActiveWakeWords: 2,
    });
    ha.send('VoiceAssistantSetConfiguration', { activeWakeWordsList: ['computer'] });
    await waitFor(() => s.log.text().includes('esphome-wake-word-refused'), 'the refusal logged');
    expect(s.log.text()).toContain('listens for its configured keywords only');
    expect(wake.status().keywords).toEqual(['computer', 'jarvis']);
  });

  it('wake.engine none offers nothing', async () => {
    const { s, ha } = await satellite({ wake: new NoWakeWord() });
    expect(await configuration(ha)).toMatchObject({ activeWakeWordsList: [], maxActiveWakeWords: 0 });
    expect((await configuration(ha)).availableWakeWordsList ?? []).toEqual([]);
    ha.send('VoiceAssistantSetConfiguration', { activeWakeWordsList: ['hey_jarvis'] });
    await waitFor(() => s.log.text().includes('esphome-wake-word-refused'), 'the refusal logged');
  });
});

const missing = ttsMissing() ?? (() => {
  try {
    resolveModelFiles({ keyword: 'alexa' });
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
})();

describe.skipIf(missing)('esphome backend with the real openWakeWord engine', () => {
  it('Home Assistant picks alexa: the spoken word opens a turn named "alexa", which hey jarvis would not have', async () => {
    const mem = memoryLogger('debug');
    const wake = new OpenWakeWord({ config: WakeSchema.parse({ engine: 'openwakeword', keyword: 'hey_jarvis' }), log: mem.logger, maxBacklogMs: 600_000 });
    const { s, ha } = await satellite({ wake });
    const said = sequence(800, atLevel(synth('alexa', { engine: 'flite', voice: 'slt' }), -22), 1500);
    const conf = await configuration(ha);
    expect((conf.availableWakeWordsList as { id: string }[]).map((w) => w.id)).toEqual(expect.arrayContaining(['hey_jarvis', 'alexa', 'hey_mycroft', 'hey_rhasspy']));
    expect(conf).toMatchObject({ activeWakeWordsList: ['hey_jarvis'], maxActiveWakeWords: 1 });

    // Before the switch: "alexa" is not the wake word.
    s.agent!.mic.push(said);
    await wake.drain();
    await new Promise((r) => setTimeout(r, 200));
    expect(ha.all('VoiceAssistantRequest')).toHaveLength(0);

    ha.send('VoiceAssistantSetConfiguration', { activeWakeWordsList: ['alexa'] });
    await waitFor(() => wake.status().available && wake.status().keywords[0] === 'alexa', 'openWakeWord listening for alexa', 10_000);
    s.agent!.mic.push(said);
    expect(await ha.next('VoiceAssistantRequest', (m) => m.start === true, 10_000)).toMatchObject({ wakeWordPhrase: 'alexa' });
    expect(s.log.text()).toContain('esphome-wake-word-set');
  }, 30_000);
});
