#!/usr/bin/env node
/**
 * speaker-agent command line. Each verb lives in its own module under cli/ and registers
 * itself on the program; heavy modules are imported inside the action, so `--help` and the
 * control verbs start fast and never load native addons.
 */
import { Command } from 'commander';
import { registerAudioCommands } from './cli/audio-cmd.js';
import { registerBackendCommand } from './cli/backend-cmd.js';
import { registerConfigCommands } from './cli/config-cmd.js';
import { registerControlCommands } from './cli/control-cmd.js';
import { registerDoctor } from './cli/doctor-cmd.js';
import { registerGatewayCommand } from './cli/gateway-cmd.js';
import { registerHardwareCommands } from './cli/hardware-cmd.js';
import { registerRunCommand } from './cli/run-cmd.js';
import { registerWakeCommands } from './cli/wake-cmd.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('speaker-agent')
    .description('Smart-speaker device agent: wake word or button, streams speech to an audio gateway, plays the reply.')
    .version('0.1.0')
    .showHelpAfterError();
  // One line per verb module; keep this list sorted by module name.
  registerAudioCommands(program);
  registerBackendCommand(program);
  registerConfigCommands(program);
  registerControlCommands(program);
  registerDoctor(program);
  registerGatewayCommand(program);
  registerHardwareCommands(program);
  registerRunCommand(program);
  registerWakeCommands(program);
  return program;
}

buildProgram()
  .parseAsync(process.argv)
  .catch((err: unknown) => {
    process.stderr.write(`speaker-agent: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
