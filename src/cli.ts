#!/usr/bin/env node
/**
 * speaker-agent command line. Each verb lives in its own module under cli/ and registers
 * itself on the program; heavy modules are imported inside the action, so `--help` and the
 * control verbs start fast and never load native addons. `run` (the daemon) registers its own
 * module alone: the daemon then never holds what the other verbs import (the config loader
 * among them; docs/benchmarks.md, memory).
 */
import { Command } from 'commander';

type Register = (program: Command) => void;

/** One entry per verb module; keep this list sorted by module name. */
const VERB_MODULES: (() => Promise<Register>)[] = [
  async () => (await import('./cli/audio-cmd.js')).registerAudioCommands,
  async () => (await import('./cli/backend-cmd.js')).registerBackendCommand,
  async () => (await import('./cli/config-cmd.js')).registerConfigCommands,
  async () => (await import('./cli/control-cmd.js')).registerControlCommands,
  async () => (await import('./cli/doctor-cmd.js')).registerDoctor,
  async () => (await import('./cli/gateway-cmd.js')).registerGatewayCommand,
  async () => (await import('./cli/hardware-cmd.js')).registerHardwareCommands,
  async () => (await import('./cli/run-cmd.js')).registerRunCommand,
  async () => (await import('./cli/wake-cmd.js')).registerWakeCommands,
];

/** The program; with `verb` = `run`, only the run verb is registered. */
export async function buildProgram(verb?: string): Promise<Command> {
  const program = new Command();
  program
    .name('speaker-agent')
    .description('Smart-speaker device agent: wake word or button, streams speech to an audio gateway, plays the reply.')
    .version('0.1.0')
    .showHelpAfterError();
  if (verb === 'run') {
    (await import('./cli/run-cmd.js')).registerRunCommand(program);
    return program;
  }
  for (const load of VERB_MODULES) (await load())(program);
  return program;
}

buildProgram(process.argv[2])
  .then((program) => program.parseAsync(process.argv))
  .catch((err: unknown) => {
    process.stderr.write(`speaker-agent: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
