import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { checkConfig, checkPorcupine, checkToken, checkTokenCommand } from '../../src/doctor/config-checks.js';
import { cardOfSpec, unmatchedCardName, checkAudio, checkBoard, checkDeviceAccess, checkGpio, checkGroups, checkSpi, parseCards } from '../../src/doctor/device-checks.js';
import { checkAddons, checkAlsaBackend, checkClock, checkNode, checkService } from '../../src/doctor/system-checks.js';
import type { PorcupineModule } from '../../src/doctor/types.js';
import { ConfigError } from '../../src/errors.js';
import { errno, fakeContext } from '../helpers/fake-machine.js';

const alsa = parseConfig({});
const addonAlsa = parseConfig({ audio: { alsaBackend: 'naudiodon' } });
const wav = parseConfig({ audio: { mic: 'wav:/tmp/in.wav', speaker: 'wav:/tmp/out.wav' } });
const CARDS = ' 0 [vc4hdmi        ]: vc4-hdmi - vc4-hdmi\n                      vc4-hdmi\n 1 [seeed2micvoicec]: seeed-2mic-voi - seeed-2mic-voicecard\n';

describe('node and clock', () => {
  it('accepts Node 20+, explains an older one', () => {
    expect(checkNode(fakeContext({}, { nodeVersion: '22.1.0' })).status).toBe('ok');
    const old = checkNode(fakeContext({}, { nodeVersion: '18.19.0' }));
    expect(old.status).toBe('fail');
    expect(old.detail).toMatch(/18\.19\.0 is too old/);
    expect(old.fix).toMatch(/install\.sh/);
  });

  it('fails a clock stuck in 1970 (TLS would fail), warns while NTP is unsynchronized', async () => {
    const past = await checkClock(fakeContext({}, { now: () => new Date(0) }));
    expect(past.status).toBe('fail');
    expect(past.detail).toMatch(/1970.*not yet valid/);
    expect(past.fix).toMatch(/timedatectl set-ntp true/);
    const cmd = 'timedatectl show -p NTPSynchronized --value';
    expect((await checkClock(fakeContext({ exec: { [cmd]: { code: 0, stdout: 'no\n' } } }))).status).toBe('warn');
    expect((await checkClock(fakeContext({ exec: { [cmd]: { code: 0, stdout: 'yes\n' } } }))).detail).toMatch(/NTP synchronized/);
    // No systemd (like this build machine): plausible year is enough.
    expect((await checkClock(fakeContext())).status).toBe('ok');
  });
});

describe('native addons', () => {
  const arecordHere = { alsaBackend: () => ({ name: 'arecord' as const, reason: 'auto: alsa-utils (arecord, aplay) is installed' }) };

  it('fails a missing addon only when the configuration needs it', async () => {
    const ctx = fakeContext({ addons: { naudiodon: { status: 'missing' }, rpio: { status: 'missing' } } }, { arch: 'x64' });
    const r = await checkAddons(ctx, addonAlsa);
    const byId = Object.fromEntries(r.map((x) => [x.id, x]));
    expect(byId['addon naudiodon']!.status).toBe('fail');
    expect(byId['addon naudiodon']!.fix).toMatch(/cd \/opt\/speaker-agent && sudo npm ci --omit=dev/);
    expect(byId['addon rpio']!.status).toBe('skip');
    expect(byId['addon speaker']!.status).toBe('ok');
    expect((await checkAddons(ctx, wav)).find((x) => x.id === 'addon naudiodon')!.status).toBe('skip');
  });

  it('needs no audio addon with the arecord backend (auto, where alsa-utils is installed)', async () => {
    const ctx = fakeContext({ addons: { naudiodon: { status: 'missing' }, speaker: { status: 'missing' }, koffi: { status: 'missing' } } }, arecordHere);
    const r = await checkAddons(ctx, alsa);
    for (const name of ['naudiodon', 'speaker', 'koffi']) expect(r.find((x) => x.id === `addon ${name}`)!.status).toBe('skip');
  });

  it('koffi is needed for the koffi backend; the addons that cannot build on arm64 say what to use instead', async () => {
    const ctx = fakeContext({ addons: { koffi: { status: 'missing' }, naudiodon: { status: 'missing' }, speaker: { status: 'missing' } } }, { arch: 'arm64' });
    expect((await checkAddons(ctx, parseConfig({ audio: { alsaBackend: 'koffi' } }))).find((x) => x.id === 'addon koffi')!.status).toBe('fail');
    const r = await checkAddons(ctx, addonAlsa);
    expect(r.find((x) => x.id === 'addon naudiodon')).toMatchObject({ status: 'fail', fix: expect.stringMatching(/does not build on arm64: set audio\.alsaBackend: arecord/) });
  });

  it('naudiodon on 32-bit ARM without JACK: the package to install', async () => {
    const ctx = fakeContext({ addons: { naudiodon: { status: 'error', message: 'libjack.so.0: cannot open shared object file: No such file or directory' } } }, { arch: 'arm' });
    const r = await checkAddons(ctx, addonAlsa);
    expect(r.find((x) => x.id === 'addon naudiodon')).toMatchObject({ status: 'fail', fix: 'sudo apt-get install -y libjack-jackd2-0' });
  });

  it('says which ALSA backend auto chose, and fails arecord without alsa-utils', async () => {
    const tools = { 'arecord --version': { code: 0, stdout: 'arecord: version 1.2.8 by Jaroslav Kysela\n' }, 'aplay --version': { code: 0, stdout: 'aplay: version 1.2.8\n' } };
    expect(await checkAlsaBackend(fakeContext({ exec: tools }, arecordHere), alsa)).toMatchObject({ status: 'ok', detail: expect.stringMatching(/^arecord \(auto: alsa-utils.*\); arecord: version 1\.2\.8/) });
    expect(await checkAlsaBackend(fakeContext({}, arecordHere), alsa)).toMatchObject({ status: 'fail', fix: 'sudo apt-get install -y alsa-utils' });
    expect((await checkAlsaBackend(fakeContext(), wav)).status).toBe('skip');
  });

  it('gpio.driver auto needs rpio on a Pi 4 but not on a Pi 5', async () => {
    const auto = { ...wav, gpio: { driver: 'auto' } } as unknown as typeof wav;
    const on = (model: string) => fakeContext({ files: { '/proc/device-tree/model': `${model}\0` }, addons: { rpio: { status: 'missing' } } });
    const rpio = async (model: string) => (await checkAddons(on(model), auto)).find((x) => x.id === 'addon rpio')!.status;
    expect(await rpio('Raspberry Pi 4 Model B Rev 1.5')).toBe('fail');
    expect(await rpio('Raspberry Pi 5 Model B Rev 1.0')).toBe('skip');
  });

  it('tells an ABI mismatch (npm rebuild) from a crash on load', async () => {
    const ctx = fakeContext({
      addons: {
        naudiodon: { status: 'error', message: "was compiled against a different Node.js version using NODE_MODULE_VERSION 108" },
        speaker: { status: 'error', code: 'SIGNAL', message: 'the process loading it died of SIGABRT' },
      },
    });
    const r = await checkAddons(ctx, addonAlsa);
    expect(r[0]).toMatchObject({ status: 'fail', detail: expect.stringMatching(/built for another Node\.js version/), fix: 'cd /opt/speaker-agent && sudo npm rebuild naudiodon' });
    expect(r[1]).toMatchObject({ status: 'fail', detail: expect.stringMatching(/no default playback device.*SIGABRT/) });
  });
});

describe('board, audio, GPIO, SPI', () => {
  it('reads the board model; rpio on a Pi 5 is a failure', () => {
    expect(checkBoard(fakeContext(), alsa)).toMatchObject({ status: 'skip', detail: expect.stringMatching(/not a Raspberry Pi/) });
    const pi5 = fakeContext({ files: { '/proc/device-tree/model': 'Raspberry Pi 5 Model B Rev 1.0\0' } });
    expect(checkBoard(pi5, alsa)).toEqual({ id: 'board', status: 'ok', detail: 'Raspberry Pi 5 Model B Rev 1.0' });
    const rpio = { ...alsa, gpio: { driver: 'rpio' } } as unknown as typeof alsa;
    expect(checkBoard(pi5, rpio)).toMatchObject({ status: 'fail', detail: expect.stringMatching(/rpio cannot drive/) });
  });

  it('parses /proc/asound/cards and card names in specs', () => {
    expect(parseCards(CARDS)).toEqual(['vc4hdmi', 'seeed2micvoicec']);
    expect(parseCards('--- no soundcards ---\n')).toEqual([]);
    expect(cardOfSpec('alsa:plughw:CARD=seeed2micvoicec,DEV=0')).toBe('seeed2micvoicec');
    expect(cardOfSpec('alsa:hw:seeed2micvoicec')).toBe('seeed2micvoicec');
    expect(cardOfSpec('alsa:default')).toBeUndefined();
    expect(cardOfSpec('alsa:hw:1,0')).toBeUndefined();
  });

  it('no sound support at all (this build machine): fails for alsa:, skips for wav:', () => {
    const ctx = fakeContext();
    expect(checkAudio(ctx, alsa)).toMatchObject({ status: 'fail', detail: expect.stringMatching(/no ALSA sound support/), fix: expect.stringMatching(/install\.sh --hardware NAME.*config\.txt.*arecord -l/) });
    expect(checkAudio(ctx, wav)).toMatchObject({ status: 'skip', detail: expect.stringMatching(/not needed/) });
    expect(checkAudio(fakeContext({ files: { '/proc/asound/cards': '--- no soundcards ---\n' } }), alsa).detail).toMatch(/no sound card found/);
  });

  it('finds cards and devices; names a configured card that is absent', () => {
    const devices = { '/dev/snd/controlC1': { mode: 0o20660 }, '/dev/snd/pcmC1D0c': { mode: 0o20660 }, '/dev/snd/pcmC1D0p': { mode: 0o20660 } };
    const ctx = fakeContext({ files: { '/proc/asound/cards': CARDS }, devices });
    expect(checkAudio(ctx, alsa)).toMatchObject({ status: 'ok', detail: 'cards: vc4hdmi, seeed2micvoicec; 1 capture and 1 playback devices' });
    const other = parseConfig({ audio: { mic: 'alsa:plughw:CARD=seeed4micvoicec' } });
    expect(checkAudio(ctx, other)).toMatchObject({ status: 'fail', detail: expect.stringMatching(/"seeed4micvoicec", which is not present/) });
    const hdmiOnly = fakeContext({ files: { '/proc/asound/cards': ' 0 [vc4hdmi        ]: x\n' }, devices: { '/dev/snd/pcmC0D0p': { mode: 0o20660 } } });
    expect(checkAudio(hdmiOnly, alsa)).toMatchObject({ status: 'fail', detail: expect.stringMatching(/no capture device/) });
  });

  it('warns when alsa:NAME matches no card (the ALSA drivers look cards up by name fragment)', () => {
    expect(unmatchedCardName('alsa:seeed2mic', ['vc4hdmi', 'seeed2micvoicec'], CARDS)).toBeUndefined();
    expect(unmatchedCardName('alsa:USB', ['vc4hdmi'], CARDS)).toBe('alsa:USB matches no sound card');
    expect(unmatchedCardName('alsa:3', ['a', 'b'], CARDS)).toBe('alsa:3: there is no card 3');
    expect(unmatchedCardName('alsa:1', ['a', 'b'], CARDS)).toBeUndefined();
    for (const std of ['alsa:default', 'alsa:plughw:1,0', 'alsa:dsnoop', 'alsa:sysdefault:CARD=x', 'wav:/x.wav']) expect(unmatchedCardName(std, [], '')).toBeUndefined();
    const devices = { '/dev/snd/pcmC1D0c': { mode: 0o20660 }, '/dev/snd/pcmC1D0p': { mode: 0o20660 } };
    const r = checkAudio(fakeContext({ files: { '/proc/asound/cards': CARDS }, devices }), parseConfig({ audio: { mic: 'alsa:USB' } }));
    expect(r).toMatchObject({ status: 'warn', detail: expect.stringMatching(/^alsa:USB matches no sound card \(cards: vc4hdmi, seeed2micvoicec/) });
  });

  it('GPIO and SPI: skip when not configured, explain dtparam=spi=on', () => {
    const none = fakeContext();
    expect(checkGpio(none, alsa).status).toBe('skip');
    expect(checkSpi(none, alsa).status).toBe('skip');
    const wants = { ...alsa, gpio: { driver: 'gpiod' } } as unknown as typeof alsa;
    expect(checkGpio(none, wants)).toMatchObject({ status: 'fail', detail: expect.stringMatching(/gpio.driver is gpiod/) });
    expect(checkSpi(none, wants)).toMatchObject({ status: 'warn', fix: expect.stringMatching(/dtparam=spi=on/) });
    const pi = fakeContext({ devices: { '/dev/gpiochip0': { mode: 0o20660 }, '/dev/gpiomem': { mode: 0o20660 }, '/dev/spidev0.0': { mode: 0o20660 } } });
    expect(checkGpio(pi, wants)).toEqual({ id: 'gpio', status: 'ok', detail: '/dev/gpiochip0, /dev/gpiomem' });
    expect(checkSpi(pi, wants)).toEqual({ id: 'spi', status: 'ok', detail: '/dev/spidev0.0' });
  });
});

describe('systemd service state', () => {
  const cmd = 'systemctl show speaker-agent -p LoadState,ActiveState,SubState,Result,UnitFileState,NRestarts,StatusText';
  const show = (text: string) => fakeContext({ exec: { [cmd]: { code: 0, stdout: text } } });

  it('skips without systemd (this build machine), warns when not installed', async () => {
    expect(await checkService(fakeContext())).toMatchObject({ status: 'skip', detail: expect.stringMatching(/systemd is not running/) });
    expect(await checkService(show('LoadState=not-found\nActiveState=inactive\n'))).toMatchObject({ status: 'warn', fix: 'sudo scripts/install.sh' });
  });

  it("shows the agent's own STATUS= line while running", async () => {
    const r = await checkService(show('LoadState=loaded\nActiveState=active\nSubState=running\nResult=success\nUnitFileState=enabled\nNRestarts=2\nStatusText=idle: waiting for wake word\n'));
    expect(r).toEqual({ id: 'service', status: 'ok', detail: 'active (running), status: idle: waiting for wake word, restarted 2 times' });
  });

  it('explains why it failed, and how to start it again', async () => {
    const r = await checkService(show('LoadState=loaded\nActiveState=failed\nSubState=failed\nResult=watchdog\nUnitFileState=enabled\nNRestarts=0\nStatusText=\n'));
    expect(r).toMatchObject({ status: 'fail', detail: expect.stringMatching(/^failed: the main loop stopped answering the watchdog; the journal is not readable here/) });
    expect(r.fix).toMatch(/journalctl -u speaker-agent -n 50.*reset-failed speaker-agent/);
    const limit = await checkService(show('LoadState=loaded\nActiveState=failed\nResult=start-limit-hit\n'));
    expect(limit.detail).toMatch(/gave up/);
    const off = await checkService(show('LoadState=loaded\nActiveState=inactive\nSubState=dead\nUnitFileState=disabled\n'));
    expect(off).toMatchObject({ status: 'warn', detail: 'inactive and not enabled at boot', fix: 'sudo systemctl enable --now speaker-agent' });
  });

  it('reports a unit that keeps restarting as failing, with the last error from the journal', async () => {
    const journal = 'journalctl -u speaker-agent -n 200 -o cat --no-pager -q';
    const lines = [
      '{"level":"info","ns":"agent","event":"starting"}',
      '{"level":"error","ns":"agent","event":"start-failed","error":"speaker: aplay is not installed; install alsa-utils"}',
      'speaker-agent.service: Main process exited, code=exited, status=1/FAILURE',
    ].join('\n');
    const looping = 'LoadState=loaded\nActiveState=activating\nSubState=auto-restart\nResult=exit-code\nUnitFileState=enabled\nNRestarts=7\nStatusText=\n';
    const r = await checkService(fakeContext({ exec: { [cmd]: { code: 0, stdout: looping }, [journal]: { code: 0, stdout: lines } } }));
    expect(r).toMatchObject({
      status: 'fail',
      detail: 'restarting in a loop (7 restarts, last result exit-code); last error: start-failed: speaker: aplay is not installed; install alsa-utils',
      fix: expect.stringMatching(/journalctl -u speaker-agent.*sudo systemctl restart speaker-agent/),
    });
    // Without the agent's own line: systemd's.
    const plain = await checkService(fakeContext({ exec: { [cmd]: { code: 0, stdout: looping }, [journal]: { code: 0, stdout: 'speaker-agent.service: Failed with result exit-code.\n' } } }));
    expect(plain.detail).toMatch(/last error: speaker-agent\.service: Failed with result exit-code\.$/);
  });
});

describe('service user, groups and device permissions', () => {
  it('explains a missing user', () => {
    const r = checkGroups(fakeContext({ files: { '/etc/passwd': 'root:x:0:0::/root:/bin/sh\n' } }));
    expect(r.result).toMatchObject({ status: 'fail', detail: 'user speaker-agent does not exist', fix: expect.stringMatching(/install\.sh/) });
    expect(checkDeviceAccess(fakeContext(), undefined).status).toBe('skip');
  });

  it('gives the usermod line for missing memberships; fails on groups the OS lacks', () => {
    const missing = checkGroups(fakeContext({ files: { '/etc/group': 'audio:x:29:\ngpio:x:993:speaker-agent\nspi:x:994:\nspeaker-agent:x:998:\n' } }));
    expect(missing.result).toMatchObject({ status: 'fail', fix: 'sudo usermod -aG audio,spi speaker-agent && sudo systemctl restart speaker-agent' });
    // Like this build machine: Debian without Raspberry Pi OS's gpio/spi groups.
    const debian = checkGroups(fakeContext({ files: { '/etc/group': 'audio:x:29:speaker-agent\nspeaker-agent:x:998:\n' } }));
    expect(debian.result).toMatchObject({ status: 'fail', detail: expect.stringMatching(/group gpio, spi does not exist, and the service cannot start/) });
    expect(checkGroups(fakeContext()).result).toMatchObject({ status: 'ok', detail: 'speaker-agent is in audio, gpio, spi, speaker-agent' });
  });

  it('lists device nodes the user cannot open, with the group to join', () => {
    const devices = {
      '/dev/snd/pcmC1D0c': { mode: 0o20660, gid: 29 },
      '/dev/gpiochip0': { mode: 0o20660, gid: 993 },
      '/dev/spidev0.0': { mode: 0o20660, gid: 994 },
      '/dev/gpiomem': { mode: 0o20600, uid: 0, gid: 993 },
    };
    const group = 'audio:x:29:\ngpio:x:993:speaker-agent\nspi:x:994:speaker-agent\nspeaker-agent:x:998:\n';
    const ctx = fakeContext({ devices, files: { '/etc/group': group } });
    const { account } = checkGroups(ctx);
    const r = checkDeviceAccess(ctx, account);
    expect(r.status).toBe('fail');
    expect(r.detail).toBe('speaker-agent cannot open /dev/gpiomem (group gpio), /dev/snd/pcmC1D0c (group audio)');
    expect(r.fix).toBe('sudo usermod -aG gpio,audio speaker-agent && sudo systemctl restart speaker-agent');
    const ok = fakeContext({ devices: { '/dev/snd/pcmC1D0c': { mode: 0o20660, gid: 29 } } });
    expect(checkDeviceAccess(ok, checkGroups(ok).account)).toMatchObject({ status: 'ok', detail: 'speaker-agent can use all 1 device nodes' });
  });
});

describe('configuration and secrets', () => {
  it('reports every config problem as path: message', () => {
    const r = checkConfig(() => {
      throw new ConfigError(['gateway.url: must be a ws:// or wss:// URL', 'audio.volume: too big']);
    }, '/etc/speaker-agent/config.yaml');
    expect(r.config).toBeUndefined();
    expect(r.result.detail).toBe('/etc/speaker-agent/config.yaml: gateway.url: must be a ws:// or wss:// URL; audio.volume: too big');
    expect(r.result.fix).toMatch(/speaker-agent config check \/etc\/speaker-agent\/config\.yaml/);
    const denied = checkConfig(() => {
      throw new ConfigError(['/etc/speaker-agent/config.yaml: cannot read config file (EACCES)']);
    }, '/etc/speaker-agent/config.yaml');
    expect(denied.result).toMatchObject({ detail: '/etc/speaker-agent/config.yaml: cannot read config file (EACCES)', fix: expect.stringMatching(/sudo speaker-agent doctor/) });
  });

  it('finds the token without ever printing it', () => {
    const secret = 'tok-5f1c2b9e';
    const cred = '/etc/speaker-agent/credentials/gateway-token';
    const cases = [
      checkToken(fakeContext({ files: { [cred]: `${secret}\n` } }), alsa),
      checkToken(fakeContext({}, { env: { SPEAKER_AGENT_TOKEN: secret } }), alsa),
      checkToken(fakeContext({ files: { '/srv/tok': secret } }), { ...alsa, gateway: { ...alsa.gateway, tokenFile: '/srv/tok' } }),
    ];
    expect(cases.map((c) => c.result.status)).toEqual(['ok', 'ok', 'ok']);
    expect(cases.map((c) => c.token?.value)).toEqual([secret, secret, secret]);
    for (const c of cases) expect(JSON.stringify(c.result)).not.toContain(secret);
    expect(cases[1]!.result.detail).toBe('present in $SPEAKER_AGENT_TOKEN (not shown)');
  });

  it('with gateway.tokenCommand, runs it as the agent does and never prints the token', async () => {
    const config = { ...alsa, gateway: { ...alsa.gateway, tokenCommand: '/usr/local/bin/get-token --scope audio' } };
    const argvs: string[][] = [];
    const ok = await checkTokenCommand(config, async (argv) => (argvs.push(argv), { token: 'tok-exchanged-1', source: 'command get-token' }));
    expect(argvs).toEqual([['/usr/local/bin/get-token', '--scope', 'audio']]);
    expect(ok.result).toMatchObject({ status: 'ok', detail: expect.stringMatching(/obtained from gateway.tokenCommand/) });
    expect(ok.token?.value).toBe('tok-exchanged-1');
    expect(JSON.stringify(ok.result)).not.toContain('tok-exchanged-1');
    const failed = await checkTokenCommand(config, async () => ({ error: 'token command get-token failed (exit code 2)', fix: 'run it by hand' }));
    expect(failed.result).toMatchObject({ status: 'fail', detail: 'token command get-token failed (exit code 2)', fix: 'run it by hand' });
  });

  it('looks where the agent looks: tokenFile, then the credential, then the environment', () => {
    const cred = '/etc/speaker-agent/credentials/gateway-token';
    const both = checkToken(fakeContext({ files: { [cred]: 'from-cred' } }, { env: { SPEAKER_AGENT_TOKEN: 'from-env' } }), alsa);
    expect(both.token).toEqual({ value: 'from-cred', source: cred });
    const underSystemd = checkToken(fakeContext({ files: { '/run/credentials/speaker-agent.service/gateway-token': 'x-cred' } }, { env: { CREDENTIALS_DIRECTORY: '/run/credentials/speaker-agent.service' } }), alsa);
    expect(underSystemd.token?.value).toBe('x-cred');
    const withFile = checkToken(fakeContext({ files: { [cred]: 'from-cred', '/f': 'from-file' } }), { ...alsa, gateway: { ...alsa.gateway, tokenFile: '/f' } });
    expect(withFile.token?.value).toBe('from-file');
  });

  it('explains empty, missing, unreadable and too-open token files', () => {
    const cred = '/etc/speaker-agent/credentials/gateway-token';
    expect(checkToken(fakeContext({ files: { [cred]: '' } }), alsa).result).toMatchObject({ status: 'warn', fix: expect.stringMatching(/umask 077; cat >/) });
    expect(checkToken(fakeContext({ files: { [cred]: errno('EACCES', cred) } }), alsa).result).toMatchObject({ status: 'warn', fix: expect.stringMatching(/sudo speaker-agent doctor/) });
    const open = checkToken(fakeContext({ files: { [cred]: 'tok-123456' }, modes: { [cred]: 0o644 } }), alsa);
    expect(open.result).toMatchObject({ status: 'warn', fix: `sudo chmod 600 ${cred}` });
    expect(open.token?.value).toBe('tok-123456');
    const missing = checkToken(fakeContext(), { ...alsa, gateway: { ...alsa.gateway, tokenFile: '/nope' } });
    expect(missing.result).toMatchObject({ status: 'fail', detail: 'gateway.tokenFile /nope does not exist' });
    const empty = checkToken(fakeContext({ files: { '/e': '\n' } }), { ...alsa, gateway: { ...alsa.gateway, tokenFile: '/e' } });
    expect(empty.result).toMatchObject({ status: 'fail', detail: 'gateway.tokenFile /e is empty' });
  });

  it('Porcupine: skipped without a wake word, explains activation errors, masks the key', async () => {
    expect((await checkPorcupine(fakeContext(), alsa)).status).toBe('skip');
    const porc = { ...alsa, wake: { engine: 'porcupine' } } as unknown as typeof alsa;
    const keyFile = '/etc/speaker-agent/credentials/porcupine-access-key';
    expect(await checkPorcupine(fakeContext({ files: { [keyFile]: '' } }), porc)).toMatchObject({ status: 'fail', detail: expect.stringMatching(/no Porcupine AccessKey/) });
    class PorcupineActivationLimitReachedError extends Error {}
    const limited: PorcupineModule = {
      Porcupine: class {
        constructor(key: string) {
          throw new PorcupineActivationLimitReachedError(`key ${key} hit the limit`);
        }
        release() {}
      },
      getBuiltinKeywordPath: (k) => `/kw/${k}.ppn`,
      BuiltinKeyword: { PORCUPINE: 'porcupine' },
    };
    const r = await checkPorcupine(fakeContext({ files: { [keyFile]: 'AK-secret-1234' }, porcupine: limited }), porc);
    expect(r).toMatchObject({ status: 'fail', detail: expect.stringMatching(/activation limit/), fix: expect.stringMatching(/button/) });
    expect(JSON.stringify(r)).not.toContain('AK-secret-1234');
  });

  it('Porcupine for real: a malformed key is explained, offline, and never printed', async () => {
    const porc = { ...alsa, wake: { engine: 'porcupine' } } as unknown as typeof alsa;
    const real = (await import('@picovoice/porcupine-node')) as unknown as PorcupineModule;
    const ctx = fakeContext({ files: { '/etc/speaker-agent/credentials/porcupine-access-key': 'not-a-key-XYZ' } }, { importPorcupine: async () => real });
    const r = await checkPorcupine(ctx, porc);
    expect(r).toMatchObject({ status: 'fail', detail: 'the AccessKey was rejected as invalid (key from /etc/speaker-agent/credentials/porcupine-access-key)' });
    expect(JSON.stringify(r)).not.toContain('not-a-key-XYZ');
  });
});
