/** `speaker-agent doctor`: checks the machine, the configuration and the gateway, with a fix per problem. */
import type { Command } from 'commander';
import { addConfigFlags, configFromFlags, reportError } from './common.js';
import { INSTALLED_CONFIG, installedConfigState } from './installed.js';

export { INSTALLED_CONFIG };

export function registerDoctor(program: Command): void {
  const cmd = program
    .command('doctor')
    .description('check Node.js, native addons, audio, GPIO/SPI, permissions, config, token, gateway, wake word and clock; prints a fix for each problem')
    .option('--user <name>', 'account whose groups and device access to check', 'speaker-agent')
    .option('--credentials-dir <dir>', 'where the installer keeps credential files', '/etc/speaker-agent/credentials')
    .option('--offline', 'do not connect to the gateway')
    .option('--json', 'print the results as JSON');
  addConfigFlags(cmd);
  cmd.action(async (opts: Record<string, unknown>) => {
    try {
      const [{ realContext }, { runDoctor, formatResult, summary }] = await Promise.all([
        import('../doctor/context.js'),
        import('../doctor/doctor.js'),
      ]);
      const env = process.env;
      // The installed config, also when this user cannot read it: the config line then says so
      // (and the gateway is not checked), rather than checking the built-in defaults.
      if (opts.config === undefined && !env.SPEAKER_AGENT_CONFIG && installedConfigState() !== 'absent') opts.config = INSTALLED_CONFIG;
      const source = (opts.config as string | undefined) ?? env.SPEAKER_AGENT_CONFIG ?? 'built-in defaults, no config file';
      const ctx = realContext({ env, serviceUser: opts.user as string, credentialsDir: opts.credentialsDir as string });
      const json = opts.json === true;
      const results = await runDoctor(ctx, {
        loadConfig: () => configFromFlags(opts, env),
        configSource: source,
        offline: opts.offline === true,
        onResult: json ? undefined : (r) => process.stdout.write(formatResult(r)),
      });
      process.stdout.write(json ? JSON.stringify(results, null, 2) + '\n' : summary(results));
      process.exitCode = results.some((r) => r.status === 'fail') ? 1 : 0;
    } catch (err) {
      process.exitCode = reportError(err);
    }
  });
}
