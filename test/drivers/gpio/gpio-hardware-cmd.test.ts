import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runHardwareCheck } from '../../../src/cli/hardware-check.js';
import { registerHardwareCommands } from '../../../src/cli/hardware-cmd.js';
import { FakeGpio } from '../../fakes/index.js';

function check(gpio: FakeGpio, extra: Partial<Parameters<typeof runHardwareCheck>[0]> = {}) {
  const out: string[] = [];
  let onSleep: (ms: number) => void = () => {};
  const run = runHardwareCheck({
    gpio,
    stepMs: 1000,
    buttonTimeoutMs: 15_000,
    sleep: async (ms) => onSleep(ms),
    write: (s) => out.push(s),
    ...extra,
  });
  return { run, out, setOnSleep: (f: (ms: number) => void) => (onSleep = f) };
}

describe('hardware check', () => {
  it('shows every LED state in order and reports a press', async () => {
    const gpio = new FakeGpio();
    await gpio.start(); // test-hardware starts the GPIO before the check
    let aborted = false;
    // The test plays the person: press once the prompt is up.
    const c = check(gpio, {
      sleep: async (ms, signal) => {
        if (ms === 15_000) {
          gpio.button('down');
          gpio.button('up');
          gpio.button('press');
          // The wait ends when the check aborts it, not by timing out.
          if (!signal!.aborted) await new Promise<void>((r) => signal!.addEventListener('abort', () => r()));
          aborted = true;
        }
      },
    });
    const result = await c.run;
    expect(result.ledsShown).toEqual(['idle', 'listening', 'follow-up', 'thinking', 'speaking', 'muted', 'error', 'disconnected', 'timer', 'ringing', 'off']);
    expect(gpio.leds).toEqual(['idle', 'listening', 'follow-up', 'thinking', 'speaking', 'muted', 'error', 'disconnected', 'timer', 'ringing', 'off', 'listening', 'off']);
    expect(result).toMatchObject({ button: ['down', 'up', 'press'], buttonOk: true });
    await new Promise((r) => setImmediate(r));
    expect(aborted).toBe(true);
    expect(c.out.join('')).toMatch(/Press the button now \(waiting 15 s\)[\s\S]*Button OK/);
  });

  it('times out with advice when no press comes', async () => {
    const gpio = new FakeGpio();
    await gpio.start(); // test-hardware starts the GPIO before the check
    const c = check(gpio, { noLeds: 'No LEDs configured (gpio.leds.driver is "none")' });
    const result = await c.run;
    expect(result.buttonOk).toBe(false);
    expect(c.out.join('')).toMatch(/No LEDs configured[\s\S]*No button press seen: check gpio\.buttonPin \(BCM numbering\)/);
    expect(gpio.listenerCount('button')).toBe(0);
  });
});

describe('speaker-agent test-hardware', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    process.exitCode = undefined;
  });

  async function run(args: string[]): Promise<string> {
    let out = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
      out += String(s);
      return true;
    });
    vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
      out += String(s);
      return true;
    });
    const program = new Command().exitOverride();
    registerHardwareCommands(program);
    await program.parseAsync(['node', 'speaker-agent', 'test-hardware', '--step-ms', '5', '--button-timeout', '0', ...args]);
    vi.restoreAllMocks();
    return out;
  }

  it('usb-mic: says there is nothing to test, never "passed"', async () => {
    const out = await run(['--hardware', 'usb-mic']);
    expect(out).toMatch(/Nothing to test: no button .* and no LEDs .* \(hardware profile usb-mic\)/);
    expect(out).not.toMatch(/Hardware check passed/);
    expect(process.exitCode).toBe(0);
  });

  it('no profile and no config (none installed): nothing to test, says what to pass, exit 1', async () => {
    const saved = process.env.SPEAKER_AGENT_CONFIG;
    delete process.env.SPEAKER_AGENT_CONFIG;
    try {
      const out = await run([]);
      expect(out).toMatch(/Nothing to test/);
      expect(out).toMatch(/Pass --hardware PROFILE/);
      expect(out).not.toMatch(/Hardware check passed/);
      expect(process.exitCode).toBe(1);
    } finally {
      if (saved !== undefined) process.env.SPEAKER_AGENT_CONFIG = saved;
    }
  });

  it('reads the config file like doctor: its profile is tested', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sa-hw-'));
    const file = path.join(dir, 'config.yaml');
    writeFileSync(file, 'hardware: respeaker-2mic\n');
    try {
      const out = await run(['--config', file, '--log-level', 'warn']);
      expect(out).toMatch(/hardware: respeaker-2mic/);
      expect(out).toMatch(/Hardware check FAILED/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('respeaker-2mic on a machine without GPIO or SPI: fails with the fixes, does not crash', async () => {
    const out = await run(['--hardware', 'respeaker-2mic', '--log-level', 'warn']);
    expect(out).toMatch(/The LEDs could not be set up[\s\S]*The button could not be set up/);
    expect(out).toMatch(/problem: .*dtparam=spi=on/);
    expect(out).toMatch(/Hardware check FAILED/);
    expect(process.exitCode).toBe(1);
  });
});
