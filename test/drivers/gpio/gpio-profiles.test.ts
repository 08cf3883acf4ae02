import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { addConfigFlags, configFromFlags } from '../../../src/cli/common.js';
import { loadConfig, parseConfig, readConfigFile } from '../../../src/config/load.js';
import { findHardwareDir, listProfiles, loadProfile } from '../../../src/config/profiles.js';
import { ConfigError } from '../../../src/errors.js';

const dir = findHardwareDir()!;
const tmp = mkdtempSync(path.join(tmpdir(), 'hw-profiles-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('bundled hardware profiles', () => {
  const names = listProfiles(dir);

  it('are all there', () => {
    expect(names).toEqual(['aiy-voice-bonnet', 'aiy-voice-hat', 'respeaker-2mic', 'respeaker-4mic', 'usb-mic']);
  });

  it.each(names)('%s is valid under the config schema on its own', (name) => {
    const layer = readConfigFile(path.join(dir, `${name}.yaml`));
    expect(() => parseConfig(layer)).not.toThrow();
  });

  it('set the wiring from the hardware notes', () => {
    const two = loadConfig({ env: {}, flags: { hardware: 'respeaker-2mic' }, hardwareDir: dir });
    expect(two.audio.mic).toBe('alsa:seeed2micvoicec');
    expect(two.gpio).toMatchObject({ driver: 'auto', buttonPin: 17, activeLow: true, leds: { driver: 'apa102', count: 3 } });
    const four = loadConfig({ env: {}, flags: { hardware: 'respeaker-4mic' }, hardwareDir: dir });
    expect(four.gpio.buttonPin).toBeUndefined();
    expect(four.gpio.leds).toMatchObject({ driver: 'apa102', count: 12, powerPin: 5, spiDevice: '/dev/spidev0.1' });
    const aiy = loadConfig({ env: {}, flags: { hardware: 'aiy-voice-hat' }, hardwareDir: dir });
    expect(aiy.gpio).toMatchObject({ buttonPin: 23, leds: { driver: 'gpio', pin: 25 } });
    const usb = loadConfig({ env: {}, flags: { hardware: 'usb-mic' }, hardwareDir: dir });
    expect(usb.gpio.driver).toBe('none');
  });
});

describe('profile layering', () => {
  it('the config file overrides the profile; flags override both', () => {
    const file = path.join(tmp, 'agent.yaml');
    writeFileSync(file, 'hardware: respeaker-2mic\ngpio:\n  buttonPin: 27\n  leds:\n    brightness: 3\n');
    const cfg = loadConfig({ file, env: {}, hardwareDir: dir });
    expect(cfg.gpio).toMatchObject({ buttonPin: 27, leds: { driver: 'apa102', count: 3, brightness: 3 } });
    const flagged = loadConfig({ file, env: {}, flags: { 'gpio.driver': 'rpio' }, hardwareDir: dir });
    expect(flagged.gpio.driver).toBe('rpio');
    expect(flagged.hardware).toBe('respeaker-2mic');
  });

  it('the --hardware flag beats the file and the environment', () => {
    const file = path.join(tmp, 'agent2.yaml');
    writeFileSync(file, 'hardware: usb-mic\n');
    const cfg = loadConfig({ file, env: { SPEAKER_AGENT_HARDWARE: 'aiy-voice-hat' }, flags: { hardware: 'respeaker-4mic' }, hardwareDir: dir });
    expect(cfg.gpio.leds.count).toBe(12);
    const fromEnv = loadConfig({ file, env: { SPEAKER_AGENT_HARDWARE: 'aiy-voice-hat' }, hardwareDir: dir });
    expect(fromEnv.gpio.buttonPin).toBe(23);
  });

  it('a profile can be a path; a relative path in a config file is relative to that file', () => {
    const own = path.join(tmp, 'my-board.yaml');
    writeFileSync(own, 'gpio:\n  driver: gpiod\n  buttonPin: 26\n');
    const file = path.join(tmp, 'agent3.yaml');
    writeFileSync(file, 'hardware: ./my-board.yaml\n');
    expect(loadConfig({ file, env: {}, hardwareDir: dir }).gpio).toMatchObject({ driver: 'gpiod', buttonPin: 26 });
    expect(loadConfig({ env: {}, flags: { hardware: own }, hardwareDir: dir }).gpio.buttonPin).toBe(26);
  });

  it('an unknown profile lists the bundled ones', () => {
    try {
      loadConfig({ env: {}, flags: { hardware: 'respeaker-6mic' }, hardwareDir: dir });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).issues[0]).toMatch(
        /^hardware: unknown hardware profile "respeaker-6mic" \(bundled: aiy-voice-bonnet, aiy-voice-hat, respeaker-2mic, respeaker-4mic, usb-mic\)/,
      );
    }
  });

  it('a bad value inside a profile is reported as path: message', () => {
    const bad = path.join(tmp, 'bad.yaml');
    writeFileSync(bad, 'gpio:\n  buttonPin: 99\n  leds:\n    driver: gpio\n    colors:\n      listening: blue\n');
    try {
      loadConfig({ env: {}, flags: { hardware: bad }, hardwareDir: dir });
      expect.unreachable();
    } catch (err) {
      const issues = (err as ConfigError).issues;
      expect(issues).toContain('gpio.buttonPin: Too big: expected number to be <=53');
      expect(issues).toContain('gpio.leds.colors.listening: must be a colour like "#ff8000"');
      expect(issues).toContain('gpio.leds.pin: driver "gpio" needs "pin" (the BCM number of the LED pin, e.g. 25)');
    }
  });

  it('profiles do not chain', () => {
    const chained = path.join(tmp, 'chained.yaml');
    writeFileSync(chained, 'hardware: usb-mic\n');
    expect(() => loadProfile(chained, readConfigFile)).toThrow(/cannot name another profile/);
  });

  it('--hardware is a CLI flag of every config-building verb', () => {
    const cmd = addConfigFlags(new Command('x')).exitOverride();
    cmd.parse(['node', 'x', '--hardware', 'respeaker-2mic'], { from: 'node' });
    const cfg = configFromFlags(cmd.opts(), {});
    expect(cfg.hardware).toBe('respeaker-2mic');
    expect(cfg.gpio.buttonPin).toBe(17);
  });
});
