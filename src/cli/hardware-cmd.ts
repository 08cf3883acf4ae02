/** `speaker-agent test-hardware`: LED tour and button check for the configured board. */
import type { Command } from 'commander';
import { addConfigFlags, configFromFlags, locate, reportError } from './common.js';

export function registerHardwareCommands(program: Command): void {
  addConfigFlags(
    program
      .command('test-hardware')
      .description('show every LED state and wait for a button press, to check wiring and permissions')
      .option('--step-ms <ms>', 'how long each LED state is shown', '1500')
      .option('--button-timeout <seconds>', 'how long to wait for a button press', '15'),
  ).action(async (opts: Record<string, unknown>) => {
    const write = (s: string) => process.stdout.write(s);
    try {
      // Like doctor: with no --config, the installed configuration is what the service uses.
      const where = locate(opts);
      if (where.configSource === 'installed') opts.config = where.configFile;
      const config = configFromFlags(opts);
      if (config.gpio.buttonPin === undefined && config.gpio.leds.driver === 'none') {
        // Never "passed" having tested nothing. A profile or config that has no button or LEDs
        // (usb-mic) is a fine answer; nothing given at all is a mistake.
        const given = where.configFile !== undefined || config.hardware !== undefined;
        const from = config.hardware ? `hardware profile ${config.hardware}` : where.configFile ? where.configFile : 'no config file given, none installed at /etc/speaker-agent/config.yaml';
        write(`Nothing to test: no button (gpio.buttonPin) and no LEDs (gpio.leds.driver) are configured (${from}).\n`);
        if (!given) write('Pass --hardware PROFILE (e.g. respeaker-2mic) or --config FILE.\n');
        process.exitCode = given ? 0 : 1;
        return;
      }
      const [{ Logger }, { createGpio }, { runHardwareCheck }] = await Promise.all([
        import('../log/logger.js'),
        import('../drivers/registry.js'),
        import('./hardware-check.js'),
      ]);
      // Pretty logs on the terminal: the driver's own lines say which driver and what failed.
      const log = new Logger({ level: config.log.level, format: 'pretty', sink: { write: (l) => process.stderr.write(l) } });
      write(`hardware: ${config.hardware ?? '(no profile)'}; gpio driver: ${config.gpio.driver}\n`);
      const gpio = await createGpio(config, log);
      await gpio.start();
      const status = 'status' in gpio ? (gpio as { status: { button: boolean; leds?: string; problems: string[] } }).status : undefined;
      const wantedButton = config.gpio.buttonPin !== undefined;
      const wantedLeds = config.gpio.leds.driver !== 'none';
      const hasButton = status?.button === true;
      const hasLeds = status?.leds !== undefined;
      try {
        const result = await runHardwareCheck({
          gpio,
          noButton: hasButton
            ? undefined
            : wantedButton
              ? 'The button could not be set up (see the problems below)'
              : 'No button configured (gpio.buttonPin is unset)',
          noLeds: hasLeds
            ? undefined
            : wantedLeds
              ? 'The LEDs could not be set up (see the problems below)'
              : 'No LEDs configured (gpio.leds.driver is "none")',
          stepMs: Number(opts.stepMs),
          buttonTimeoutMs: Number(opts.buttonTimeout) * 1000,
          sleep: (ms, signal) =>
            new Promise<void>((resolve) => {
              if (signal?.aborted) return resolve();
              const t = setTimeout(resolve, ms);
              signal?.addEventListener('abort', () => {
                clearTimeout(t);
                resolve();
              });
            }),
          write,
        });
        const problems = status?.problems ?? [];
        for (const p of problems) write(`problem: ${p}\n`);
        const ok = problems.length === 0 && (!wantedButton || result.buttonOk === true) && (!wantedLeds || hasLeds);
        write(ok ? 'Hardware check passed.\n' : 'Hardware check FAILED: see the lines above.\n');
        process.exitCode = ok ? 0 : 1;
      } finally {
        await gpio.stop();
      }
    } catch (err) {
      process.exitCode = reportError(err);
    }
  });
}
