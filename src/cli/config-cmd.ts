import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { reportError } from './common.js';

export function registerConfigCommands(program: Command): void {
  const config = program.command('config').description('configuration tools');
  config
    .command('check <file>')
    .description('validate a config file; prints every problem as path: message')
    .option('--print', 'print the effective configuration (with defaults) as JSON')
    .action((file: string, opts: { print?: boolean }) => {
      try {
        // As `run` loads it (the hardware profile resolved), without the environment's layer.
        const parsed = loadConfig({ file, env: {} });
        if (opts.print) process.stdout.write(JSON.stringify(parsed, null, 2) + '\n');
        else process.stdout.write(`${file}: OK\n`);
      } catch (err) {
        process.exitCode = reportError(err);
      }
    });
  config
    .command('addons <file>')
    .description('load every native addon this configuration needs on this machine, each in its own process; exit 1 with the fix when one does not load')
    .action(async (file: string) => {
      try {
        const [{ realContext }, { checkAddons }, { formatResult }] = await Promise.all([
          import('../doctor/context.js'),
          import('../doctor/system-checks.js'),
          import('../doctor/doctor.js'),
        ]);
        // As the service would load it: the file alone (the unit sets no SPEAKER_AGENT_* variables).
        const results = await checkAddons(realContext({}), loadConfig({ file, env: {} }), { onlyNeeded: true });
        for (const r of results) process.stdout.write(formatResult(r));
        const failed = results.filter((r) => r.status === 'fail');
        process.stdout.write(
          results.length === 0 ? `${file}: needs no native addon\n` : failed.length ? `${file}: ${failed.length} needed addon(s) do not load\n` : `${file}: all ${results.length} needed addon(s) load\n`,
        );
        process.exitCode = failed.length ? 1 : 0;
      } catch (err) {
        process.exitCode = reportError(err);
      }
    });
}
