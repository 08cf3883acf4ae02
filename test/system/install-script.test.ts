import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { loadConfig, parseConfig } from '../../src/config/load.js';

const REPO = path.join(import.meta.dirname, '..', '..');
const SCRIPT = path.join(REPO, 'scripts', 'install.sh');

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  /** Commands recorded by this run only. */
  commands: string[];
}

/** A scratch root and a built source tree (the real unit file, a stub CLI). */
function fixture() {
  const base = mkdtempSync(path.join(os.tmpdir(), 'install-'));
  const root = path.join(base, 'root');
  const src = path.join(base, 'src');
  mkdirSync(path.join(root, 'etc'), { recursive: true });
  writeFileSync(path.join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/bash\npi:x:1000:1000::/home/pi:/bin/bash\n');
  writeFileSync(path.join(root, 'etc/group'), 'root:x:0:\naudio:x:29:pi\ngpio:x:993:pi\nspi:x:994:pi\n');
  mkdirSync(path.join(src, 'dist/src'), { recursive: true });
  mkdirSync(path.join(src, 'systemd'));
  writeFileSync(path.join(src, 'package.json'), JSON.stringify({ name: 'speaker-agent', version: '0.1.0' }));
  writeFileSync(path.join(src, 'package-lock.json'), '{}');
  writeFileSync(path.join(src, 'dist/src/cli.js'), '// stub\n');
  cpSync(path.join(REPO, 'systemd/speaker-agent.service'), path.join(src, 'systemd/speaker-agent.service'));
  const token = path.join(base, 'token.txt');
  writeFileSync(token, 'tok-0123456789abcdef\r\n');
  return { base, root, src, token };
}

function install(f: ReturnType<typeof fixture>, args: string[], env: Record<string, string> = {}): Run {
  const log = path.join(f.root, '.install-commands');
  const before = existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean).length : 0;
  const r = spawnSync('bash', [SCRIPT, '--root', f.root, '--source', f.src, ...args], {
    encoding: 'utf8',
    env: { ...process.env, SPEAKER_AGENT_TEST_NODE_VERSION: '20.19.0', ...env },
  });
  const all = existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : [];
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, commands: all.slice(before) };
}

/** Every path under the root with its type, mode and content hash (the recorded log excluded). */
function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = path.join(dir, name);
      const rel = path.relative(root, p);
      if (rel === '.install-commands') continue;
      const st = lstatSync(p);
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isSymbolicLink()) out[rel] = `link -> ${readlinkSync(p)}`;
      else if (st.isDirectory()) {
        out[rel] = `dir ${mode}`;
        walk(p);
      } else out[rel] = `file ${mode} ${createHash('sha256').update(readFileSync(p)).digest('hex').slice(0, 12)}`;
    }
  };
  walk(root);
  return out;
}

const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);

describe('scripts/install.sh in test mode', () => {
  let f: ReturnType<typeof fixture>;
  beforeEach(() => {
    f = fixture();
  });
  afterEach(() => rmSync(f.base, { recursive: true, force: true }));

  it('installs files with the right modes, and records owners, user, groups and service commands', () => {
    const r = install(f, ['--hardware', 'respeaker-2mic', '--token-file', f.token]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const at = (p: string) => path.join(f.root, p);

    // The app: production files, a wrapper on the system Node.js, a link on PATH.
    expect(readFileSync(at('opt/speaker-agent/dist/src/cli.js'), 'utf8')).toBe('// stub\n');
    expect(mode(at('opt/speaker-agent/bin/speaker-agent'))).toBe('755');
    expect(readFileSync(at('opt/speaker-agent/bin/speaker-agent'), 'utf8')).toMatch(/^exec \/usr\/bin\/node \/opt\/speaker-agent\/dist\/src\/cli\.js "\$@"$/m);
    expect(readlinkSync(at('usr/local/bin/speaker-agent'))).toBe('/opt/speaker-agent/bin/speaker-agent');
    expect(existsSync(at('opt/speaker-agent.new'))).toBe(false);

    // The unit, byte for byte.
    expect(readFileSync(at('etc/systemd/system/speaker-agent.service'), 'utf8')).toBe(readFileSync(path.join(REPO, 'systemd/speaker-agent.service'), 'utf8'));
    expect(mode(at('etc/systemd/system/speaker-agent.service'))).toBe('644');

    // Config and credentials: modes here, owners as recorded.
    expect(mode(at('etc/speaker-agent'))).toBe('750');
    expect(mode(at('etc/speaker-agent/config.yaml'))).toBe('640');
    expect(mode(at('etc/speaker-agent/credentials'))).toBe('700');
    expect(mode(at('etc/speaker-agent/credentials/gateway-token'))).toBe('600');
    expect(mode(at('etc/speaker-agent/credentials/porcupine-access-key'))).toBe('600');
    expect(readFileSync(at('etc/speaker-agent/credentials/gateway-token'), 'utf8')).toBe('tok-0123456789abcdef\n');
    expect(readFileSync(at('etc/speaker-agent/credentials/porcupine-access-key'), 'utf8')).toBe('');
    expect(mode(at('etc/speaker-agent/credentials/mqtt-password'))).toBe('600');
    expect(readFileSync(at('etc/speaker-agent/credentials/mqtt-password'), 'utf8')).toBe('');
    expect(r.stdout).not.toContain('tok-0123456789abcdef');

    expect(r.commands).toEqual(
      expect.arrayContaining([
        'useradd --system --user-group --home-dir /var/lib/speaker-agent --no-create-home --shell /usr/sbin/nologin speaker-agent',
        'usermod -aG audio,gpio,spi speaker-agent',
        'chown -R root:root /opt/speaker-agent',
        'chown root:speaker-agent /etc/speaker-agent',
        'chown root:speaker-agent /etc/speaker-agent/config.yaml',
        'chown root:root /etc/speaker-agent/credentials',
        'chown root:root /etc/speaker-agent/credentials/gateway-token',
        'chown root:root /etc/speaker-agent/credentials/porcupine-access-key',
        'chown root:root /etc/speaker-agent/credentials/mqtt-password',
        "sh -c cd '/opt/speaker-agent.new' && env LAME_SKIP_DOWNLOAD=1 ONNXRUNTIME_NODE_INSTALL=skip npm ci --omit=dev --no-audit --no-fund",
        '/opt/speaker-agent/bin/speaker-agent config check /etc/speaker-agent/config.yaml',
      ]),
    );
    // The service is enabled and (re)started after everything else is in place.
    expect(r.commands.slice(-3)).toEqual(['systemctl daemon-reload', 'systemctl enable speaker-agent', 'systemctl restart speaker-agent']);

    // The HAT's boot lines are printed, and boot files left alone.
    expect(r.stdout).toContain('    dtparam=spi=on\n');
    expect(r.stdout).toContain('    dtoverlay=seeed-2mic-voicecard\n');
    expect(r.stdout).toMatch(/does not edit boot files/);
    expect(r.stdout).toContain('journalctl -u speaker-agent -f');
  });

  it('writes a commented config the agent accepts (usb) and the HAT settings (respeaker-2mic)', () => {
    expect(install(f, []).status).toBe(0);
    const text = readFileSync(path.join(f.root, 'etc/speaker-agent/config.yaml'), 'utf8');
    expect(text).toMatch(/^# speaker-agent configuration/);
    expect(text).toMatch(/Secrets are NOT kept here/);
    const usb = parseConfig(parseYaml(text));
    expect(usb.audio.mic).toBe('alsa:default');
    expect(usb.gpio.driver).toBe('none');

    const g = fixture();
    try {
      expect(install(g, ['--hardware', 'respeaker-2mic', '--gateway-url', 'wss://gw.example.com/audio']).status).toBe(0);
      const raw = parseYaml(readFileSync(path.join(g.root, 'etc/speaker-agent/config.yaml'), 'utf8')) as Record<string, Record<string, unknown>>;
      expect(raw.gateway!.url).toBe('wss://gw.example.com/audio');
      // The HAT's settings come from its profile (one source: hardware/respeaker-2mic.yaml).
      expect(raw.hardware).toBe('respeaker-2mic');
      const effective = loadConfig({ file: path.join(g.root, 'etc/speaker-agent/config.yaml'), env: {} });
      expect(effective.audio.mic).toBe('alsa:seeed2micvoicec');
      expect(effective.gpio).toMatchObject({ driver: 'auto', buttonPin: 17, leds: { driver: 'apa102', count: 3 } });
    } finally {
      rmSync(g.base, { recursive: true, force: true });
    }
  });

  it('chooses the wake word: openWakeWord on 64-bit without a key, none on 32-bit ARM, Porcupine with a key', () => {
    const engineOn = (arch: string, args: string[] = []) => {
      const g = fixture();
      try {
        expect(install(g, args, { SPEAKER_AGENT_TEST_ARCH: arch }).status).toBe(0);
        const text = readFileSync(path.join(g.root, 'etc/speaker-agent/config.yaml'), 'utf8');
        return { wake: parseConfig(parseYaml(text)).wake, text };
      } finally {
        rmSync(g.base, { recursive: true, force: true });
      }
    };
    const arm64 = engineOn('aarch64');
    expect(arm64.wake).toMatchObject({ engine: 'openwakeword', keyword: 'hey_jarvis' });
    expect(arm64.text).toMatch(/CC BY-NC-SA 4\.0: non-commercial use/);
    expect(engineOn('x86_64').wake.engine).toBe('openwakeword');
    expect(engineOn('armv7l').wake.engine).toBe('none');
    const key = path.join(f.base, 'key.txt');
    writeFileSync(key, 'AK-1234\n');
    expect(engineOn('aarch64', ['--porcupine-key-file', key]).wake.engine).toBe('porcupine');
  });

  it('re-running upgrades in place: same files, config and secrets kept, no second user', () => {
    expect(install(f, ['--hardware', 'respeaker-2mic', '--token-file', f.token]).status).toBe(0);
    const config = path.join(f.root, 'etc/speaker-agent/config.yaml');
    writeFileSync(config, readFileSync(config, 'utf8').replace('level: info', 'level: debug'));
    const before = snapshot(f.root);
    // A new release of the agent.
    writeFileSync(path.join(f.src, 'dist/src/cli.js'), '// stub v2\n');

    const r = install(f, ['--hardware', 'usb']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Keeping /etc/speaker-agent/config.yaml');
    const after = snapshot(f.root);
    expect(readFileSync(path.join(f.root, 'opt/speaker-agent/dist/src/cli.js'), 'utf8')).toBe('// stub v2\n');
    expect(readFileSync(config, 'utf8')).toMatch(/level: debug/);
    expect(readFileSync(path.join(f.root, 'etc/speaker-agent/credentials/gateway-token'), 'utf8')).toBe('tok-0123456789abcdef\n');
    // Only the upgraded file differs.
    const changed = Object.keys(after).filter((k) => after[k] !== before[k]);
    expect(changed).toEqual(['opt/speaker-agent/dist/src/cli.js']);
    expect(Object.keys(after).sort()).toEqual(Object.keys(before).sort());
    expect(r.commands.some((c) => c.startsWith('useradd'))).toBe(false);
    expect(r.commands).toContain('systemctl restart speaker-agent');
    expect(readFileSync(path.join(f.root, 'etc/passwd'), 'utf8').match(/^speaker-agent:/gm)).toHaveLength(1);
  });

  it('installs Node.js from Debian when it is new enough there, else from NodeSource', () => {
    const debian = install(f, ['--no-start'], { SPEAKER_AGENT_TEST_NODE_VERSION: '18.19.0', SPEAKER_AGENT_TEST_NODE_CANDIDATE: '20.19.2+dfsg-1' });
    expect(debian.status).toBe(0);
    expect(debian.commands).toContain('env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs npm libnode-dev');
    expect(existsSync(path.join(f.root, 'etc/apt/sources.list.d/nodesource.list'))).toBe(false);
    expect(debian.commands).not.toContain('systemctl restart speaker-agent');

    const g = fixture();
    try {
      const ns = install(g, [], { SPEAKER_AGENT_TEST_NODE_VERSION: '18.19.0', SPEAKER_AGENT_TEST_NODE_CANDIDATE: '18.20.4+dfsg-1~deb12u1' });
      expect(ns.status).toBe(0);
      expect(readFileSync(path.join(g.root, 'etc/apt/sources.list.d/nodesource.list'), 'utf8')).toBe(
        'deb [signed-by=/etc/apt/keyrings/nodesource.gpg] https://deb.nodesource.com/node_22.x nodistro main\n',
      );
      expect(ns.commands).toContain('sh -c curl -fsSL https://deb.nodesource.com/gpgkey/nodesource-repo.gpg.key | gpg --dearmor --yes -o /etc/apt/keyrings/nodesource.gpg');
      expect(ns.commands).toContain('env DEBIAN_FRONTEND=noninteractive apt-get install -y nodejs');
    } finally {
      rmSync(g.base, { recursive: true, force: true });
    }
    const current = install(f, []);
    expect(current.stdout).toContain('Node.js 20.19.0 is new enough');
    expect(current.commands.filter((c) => /apt-get install.*nodejs/.test(c))).toEqual([]);
  });

  it('--uninstall removes what it added, including the NodeSource repository and the user', () => {
    const pristine = snapshot(f.root);
    expect(install(f, ['--hardware', 'respeaker-2mic', '--token-file', f.token], { SPEAKER_AGENT_TEST_NODE_VERSION: '18.0.0' }).status).toBe(0);
    const r = install(f, ['--uninstall']);
    expect(r.status).toBe(0);
    expect(r.commands).toEqual(['systemctl disable --now speaker-agent', 'systemctl daemon-reload', 'systemctl reset-failed speaker-agent', 'userdel speaker-agent', 'apt-get update']);
    const left = snapshot(f.root);
    // Only empty parent directories the installer created remain.
    for (const [p, v] of Object.entries(left)) if (!(p in pristine)) expect(v, p).toMatch(/^dir /);
    expect(left['etc/passwd']).toBe(pristine['etc/passwd']);
    expect(r.stdout).toMatch(/sudo apt-get remove .*libasound2-dev.*nodejs/);
  });

  it('on plain Debian creates the missing gpio and spi groups (the unit needs them) and removes them again', () => {
    writeFileSync(path.join(f.root, 'etc/group'), 'root:x:0:\naudio:x:29:\n');
    const pristine = readFileSync(path.join(f.root, 'etc/group'), 'utf8');
    const first = install(f, []);
    expect(first.status).toBe(0);
    expect(first.commands).toEqual(expect.arrayContaining(['groupadd --system gpio', 'groupadd --system spi', 'usermod -aG audio,gpio,spi speaker-agent']));
    const again = install(f, []);
    expect(again.commands.filter((c) => c.startsWith('groupadd'))).toEqual([]);
    const gone = install(f, ['--uninstall']);
    expect(gone.commands).toEqual(expect.arrayContaining(['groupdel gpio', 'groupdel spi']));
    expect(readFileSync(path.join(f.root, 'etc/group'), 'utf8')).toBe(pristine);
  });

  it('joins group i2c (AIY Voice Bonnet LED) only where it exists, and never creates it', () => {
    const without = install(f, []);
    expect(without.commands).toEqual(expect.arrayContaining(['usermod -aG audio,gpio,spi speaker-agent']));
    expect(without.commands.some((c) => c.includes('i2c'))).toBe(false);
    writeFileSync(path.join(f.root, 'etc/group'), 'root:x:0:\naudio:x:29:pi\ngpio:x:993:pi\nspi:x:994:pi\ni2c:x:998:pi\n');
    const withI2c = install(f, []);
    expect(withI2c.commands).toEqual(expect.arrayContaining(['usermod -aG audio,gpio,spi,i2c speaker-agent']));
  });

  it('--uninstall --keep-config keeps /etc/speaker-agent', () => {
    expect(install(f, ['--token-file', f.token]).status).toBe(0);
    expect(install(f, ['--uninstall', '--keep-config']).status).toBe(0);
    expect(readFileSync(path.join(f.root, 'etc/speaker-agent/credentials/gateway-token'), 'utf8')).toBe('tok-0123456789abcdef\n');
    expect(existsSync(path.join(f.root, 'opt/speaker-agent'))).toBe(false);
  });

  it('builds a source checkout in a scratch copy, never touching the checkout', () => {
    mkdirSync(path.join(f.src, 'src'));
    writeFileSync(path.join(f.src, 'src/cli.ts'), '// source\n');
    mkdirSync(path.join(f.src, 'node_modules/dev-only'), { recursive: true });
    const before = snapshot(f.src);
    const r = install(f, []);
    expect(r.status).toBe(0);
    const build = r.commands.find((c) => c.includes('npm run build'));
    // Built where it is staged, then pruned to production dependencies (one npm ci, not two).
    expect(build).toBe("sh -c cd '/opt/speaker-agent.new' && env LAME_SKIP_DOWNLOAD=1 ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund && npm run build && npm prune --omit=dev --no-audit --no-fund");
    expect(build).not.toContain(f.src);
    expect(snapshot(f.src)).toEqual(before);
    expect(existsSync(path.join(f.root, 'opt/speaker-agent/node_modules'))).toBe(false);
    expect(existsSync(path.join(f.root, 'opt/speaker-agent/src/cli.ts'))).toBe(false);
  });

  it('--backend esphome: writes the satellite config, generates the encryption key once and prints it once', () => {
    const r = install(f, ['--backend', 'esphome']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const keyFile = path.join(f.root, 'etc/speaker-agent/credentials/esphome-key');
    expect(mode(keyFile)).toBe('600');
    const key = readFileSync(keyFile, 'utf8');
    expect(key).toMatch(/^[A-Za-z0-9+/]{43}=\n$/);
    expect(Buffer.from(key.trim(), 'base64')).toHaveLength(32);
    expect(r.stdout.split(key.trim()).length - 1).toBe(1);
    expect(r.stdout).not.toMatch(/No gateway token yet/);
    expect(r.commands).toContain('chown root:root /etc/speaker-agent/credentials/esphome-key');
    const config = parseConfig(parseYaml(readFileSync(path.join(f.root, 'etc/speaker-agent/config.yaml'), 'utf8')));
    expect(config.backend).toBe('esphome');
    expect(config.esphome).toMatchObject({ port: 6053, mdns: true });

    const again = install(f, ['--backend', 'esphome']);
    expect(again.status).toBe(0);
    expect(readFileSync(keyFile, 'utf8')).toBe(key);
    expect(again.stdout).not.toContain(key.trim());
    expect(again.stdout).toContain('Keeping the existing ESPHome encryption key');
  });

  it('without --backend esphome the key credential exists but stays empty (the unit loads it)', () => {
    expect(install(f, []).status).toBe(0);
    expect(readFileSync(path.join(f.root, 'etc/speaker-agent/credentials/esphome-key'), 'utf8')).toBe('');
    expect(install(f, ['--backend', 'soca']).status).not.toBe(0);
  });

  it('gives node-gyp the headers of the Node.js that is installed, wherever it is (no download from nodejs.org)', () => {
    const headers = (prefix: string) => {
      mkdirSync(path.join(f.root, prefix, 'include/node'), { recursive: true });
      writeFileSync(path.join(f.root, prefix, 'include/node/node_api.h'), '');
    };
    headers('usr/local');
    const local = install(f, [], { SPEAKER_AGENT_TEST_NODE_PREFIX: '/usr/local' });
    expect(local.commands).toContain("sh -c cd '/opt/speaker-agent.new' && env LAME_SKIP_DOWNLOAD=1 ONNXRUNTIME_NODE_INSTALL=skip npm_config_nodedir=/usr/local npm ci --omit=dev --no-audit --no-fund");
    headers('usr');
    const debian = install(f, [], { SPEAKER_AGENT_TEST_NODE_PREFIX: '/usr' });
    expect(debian.commands).toContain("sh -c cd '/opt/speaker-agent.new' && env LAME_SKIP_DOWNLOAD=1 ONNXRUNTIME_NODE_INSTALL=skip npm_config_nodedir=/usr npm ci --omit=dev --no-audit --no-fund");
  });

  it('installs the runtime libraries an architecture needs (JACK for naudiodon on armhf)', () => {
    const armhf = install(f, [], { SPEAKER_AGENT_TEST_ARCH: 'armhf' });
    expect(armhf.commands.find((c) => c.includes('apt-get install'))).toMatch(/ alsa-utils .* libjack-jackd2-0$/);
    const g = fixture();
    try {
      expect(install(g, [], { SPEAKER_AGENT_TEST_ARCH: 'arm64' }).commands.find((c) => c.includes('apt-get install'))).not.toContain('libjack');
    } finally {
      rmSync(g.base, { recursive: true, force: true });
    }
  });

  it('checks, before the swap, that the addons the configuration needs load, and keeps the running version when not', () => {
    const first = install(f, []);
    // A new install: the config about to be written is checked with the new build.
    expect(first.commands.find((c) => c.includes('config addons'))).toMatch(/^\/usr\/bin\/node \/opt\/speaker-agent\.new\/dist\/src\/cli\.js config addons \/\S+$/);
    writeFileSync(path.join(f.src, 'dist/src/cli.js'), '// stub v2\n');
    const failed = install(f, [], { SPEAKER_AGENT_TEST_FAIL: 'config addons' });
    expect(failed.status).not.toBe(0);
    expect(failed.stderr).toMatch(/a native addon this configuration needs does not load \(see the fix above\); the installed version is untouched/);
    expect(failed.commands).toContain('/usr/bin/node /opt/speaker-agent.new/dist/src/cli.js config addons /etc/speaker-agent/config.yaml');
    expect(readFileSync(path.join(f.root, 'opt/speaker-agent/dist/src/cli.js'), 'utf8')).toBe('// stub\n');
    expect(existsSync(path.join(f.root, 'opt/speaker-agent.new'))).toBe(false);
    expect(failed.commands.some((c) => c.startsWith('systemctl'))).toBe(false);
  });

  it('a new config falls back to the button when openWakeWord\'s runtime does not load, and says so', () => {
    const g = fixture();
    try {
      // The check of the config with openWakeWord fails; the one without a wake word passes.
      const r = install(g, [], { SPEAKER_AGENT_TEST_ARCH: 'aarch64', SPEAKER_AGENT_TEST_FAIL: 'wake.yaml' });
      expect(r.status).toBe(0);
      expect(r.stderr).toMatch(/openWakeWord's runtime \(onnxruntime-node\) does not load on this machine .*wake\.engine: none.*press the button/);
      expect(r.commands.filter((c) => c.includes('config addons'))).toHaveLength(2);
      const text = readFileSync(path.join(g.root, 'etc/speaker-agent/config.yaml'), 'utf8');
      expect(parseConfig(parseYaml(text)).wake.engine).toBe('none');
      // When the config without a wake word does not load either, nothing is installed.
      const h = fixture();
      try {
        const failed = install(h, [], { SPEAKER_AGENT_TEST_ARCH: 'aarch64', SPEAKER_AGENT_TEST_FAIL: 'config addons' });
        expect(failed.status).not.toBe(0);
        expect(failed.stderr).toMatch(/a native addon this configuration needs does not load/);
        expect(existsSync(path.join(h.root, 'etc/speaker-agent/config.yaml'))).toBe(false);
      } finally {
        rmSync(h.base, { recursive: true, force: true });
      }
    } finally {
      rmSync(g.base, { recursive: true, force: true });
    }
  });

  it('fails, with what to do next, when the service does not start (the installation stays in place)', () => {
    const r = install(f, [], { SPEAKER_AGENT_TEST_FAIL: 'systemctl restart speaker-agent' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/the service did not start \(see above; 'sudo speaker-agent doctor' checks/);
    expect(r.stderr).toMatch(/run 'sudo systemctl restart speaker-agent'/);
    expect(r.commands).toContain('systemctl restart speaker-agent');
    expect(existsSync(path.join(f.root, 'opt/speaker-agent/dist/src/cli.js'))).toBe(true);
    expect(existsSync(path.join(f.root, 'etc/speaker-agent/config.yaml'))).toBe(true);
  });

  it.each([
    [['--gateway-url', 'http://gw.example.com/'], /--gateway-url must be a ws:\/\/ or wss:\/\/ URL, got "http:\/\/gw\.example\.com\/"/],
    [['--gateway-url', 'wss://gw.example.com/"x'], /must not contain spaces, quotes or backslashes/],
    [['--token-file', '/nonexistent/token'], /--token-file \/nonexistent\/token: no such file/],
    [['--token-file', 'EMPTY'], /the first line is empty/],
    [['--token-file', 'BEARER'], /without "Bearer "/],
    [['--porcupine-key-file', 'SPACES'], /--porcupine-key-file .*: the first line contains spaces/],
  ])('rejects bad input %j before installing anything', (args, message) => {
    const files: Record<string, string> = { EMPTY: '\nsecond-line\n', BEARER: 'Bearer tok-123\n', SPACES: 'two words\n' };
    const real = args.map((a) => (files[a] !== undefined ? path.join(f.base, a) : a));
    for (const [name, text] of Object.entries(files)) writeFileSync(path.join(f.base, name), text);
    const r = install(f, real);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(message);
    expect(r.commands).toEqual([]);
    expect(existsSync(path.join(f.root, 'opt'))).toBe(false);
  });

  it('--uninstall removes the drop-ins and the speaker-agent group, with a note when users had joined it', () => {
    expect(install(f, []).status).toBe(0);
    const dropins = path.join(f.root, 'etc/systemd/system/speaker-agent.service.d');
    mkdirSync(dropins);
    writeFileSync(path.join(dropins, 'override.conf'), '[Service]\nEnvironment=X=1\n');
    // The user joined the service's group, as the installer advises for the CLI.
    const groups = path.join(f.root, 'etc/group');
    writeFileSync(groups, readFileSync(groups, 'utf8').replace(/^speaker-agent:x:999:$/m, 'speaker-agent:x:999:pi'));
    const r = install(f, ['--uninstall']);
    expect(r.status).toBe(0);
    expect(existsSync(dropins)).toBe(false);
    expect(r.stdout).toContain('Removing the drop-ins in /etc/systemd/system/speaker-agent.service.d: override.conf');
    expect(r.stdout).toContain('Removing group speaker-agent (its members pi lose it at their next login)');
    expect(r.commands).toEqual(expect.arrayContaining(['userdel speaker-agent', 'groupdel speaker-agent']));
    expect(readFileSync(groups, 'utf8')).not.toMatch(/^speaker-agent:/m);
  });

  it('rejects an unknown HAT with the list of known ones', () => {
    const r = install(f, ['--hardware', 'respeaker-6mic']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/unknown --hardware "respeaker-6mic" \(known: usb, respeaker-2mic, respeaker-4mic, aiy-voice-hat, aiy-voice-bonnet\)/);
    expect(existsSync(path.join(f.root, 'opt'))).toBe(false);
  });
});
