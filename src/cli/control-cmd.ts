/** CLI verbs that talk to the running agent over its control socket. */
import type { Command } from 'commander';
import { defaultControlSocket, readConfigFile } from '../config/load.js';
import type { SessionStatus } from '../core/session.js';
import { request, subscribe } from '../control/client.js';
import type { ControlReply, ControlRequest } from '../control/protocol.js';
import { reportError } from './common.js';
import { installedSocket } from './installed.js';
import { TimelinePrinter } from './timeline.js';

interface SocketOpts {
  control?: string;
  config?: string;
}

/**
 * --control, else $SPEAKER_AGENT_CONTROL, else the config file's control.socket, else the
 * installed service's socket (src/cli/installed.ts), else the default of an agent run by hand.
 */
export function resolveSocket(opts: SocketOpts, env: NodeJS.ProcessEnv = process.env, installed: () => string | undefined = installedSocket): string {
  if (opts.control) return opts.control;
  if (env.SPEAKER_AGENT_CONTROL) return env.SPEAKER_AGENT_CONTROL;
  const file = opts.config ?? env.SPEAKER_AGENT_CONFIG;
  if (file) {
    const control = readConfigFile(file).control as { socket?: unknown } | undefined;
    if (typeof control?.socket === 'string' && control.socket) return control.socket;
    return defaultControlSocket(env);
  }
  return installed() ?? defaultControlSocket(env);
}

function withSocket(cmd: Command): Command {
  return cmd.option('--control <path>', 'control socket of the running agent').option('-c, --config <file>', 'read the socket path from this config file');
}

async function send(opts: SocketOpts, req: ControlRequest): Promise<ControlReply | undefined> {
  try {
    const reply = await request(resolveSocket(opts), req);
    if (!reply.ok) {
      process.stderr.write(`speaker-agent: ${reply.error}\n`);
      process.exitCode = 1;
    }
    return reply;
  } catch (err) {
    process.exitCode = reportError(err);
    return undefined;
  }
}

export function formatStatus(s: SessionStatus): string {
  const lines = [
    `state:      ${s.phase}${s.followUp ? ' (follow-up)' : ''}${s.turnId ? ` turn ${s.turnId}` : ''}`,
    `backend:    ${s.backend} ${s.connected ? 'connected' : 'NOT connected'}`,
    `microphone: ${s.muted ? 'muted' : 'live'}`,
    `wake word:  ${s.wake.available ? `on (${s.wake.keywords.join(', ')})` : `off: ${s.wake.reason ?? 'unavailable'}`}`,
    `leds:       ${s.led}`,
  ];
  if (s.lastError) lines.push(`last error: ${s.lastError.message} (${s.lastError.code}, ${s.lastError.at})`);
  return lines.join('\n') + '\n';
}

/** Subscribes first (so no event is missed), then triggers, then prints until the turn is over. */
async function listenWithTimeline(socketPath: string, timeoutMs: number): Promise<void> {
  const printer = new TimelinePrinter((line) => process.stdout.write(line + '\n'));
  const ac = new AbortController();
  const timer = setTimeout(() => {
    process.stderr.write(`speaker-agent: the turn did not finish within ${timeoutMs / 1000} s\n`);
    process.exitCode = 1;
    ac.abort();
  }, timeoutMs);
  try {
    let subscribed!: () => void;
    const ready = new Promise<void>((resolve) => (subscribed = resolve));
    const done = subscribe(
      socketPath,
      (e) => {
        if (printer.feed(e)) ac.abort();
      },
      ac.signal,
      subscribed,
    );
    await Promise.race([ready, done]);
    const reply = await request(socketPath, { cmd: 'listen' });
    if (!reply.ok) {
      process.stderr.write(`speaker-agent: ${reply.error}\n`);
      process.exitCode = 1;
      ac.abort();
    }
    await done;
  } catch (err) {
    process.exitCode = reportError(err);
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
}

export function registerControlCommands(program: Command): void {
  withSocket(program.command('listen').description('start listening now, as if the wake word was heard'))
    .option('--timeline', 'wait for the turn to finish and print it as a timeline with timings')
    .option('--timeout <seconds>', 'with --timeline: give up after this long', '60')
    .action(async (opts: SocketOpts & { timeline?: boolean; timeout: string }) => {
      if (!opts.timeline) {
        await send(opts, { cmd: 'listen' });
        return;
      }
      await listenWithTimeline(resolveSocket(opts), Number(opts.timeout) * 1000);
    });

  const simple: [string, string, ControlRequest][] = [
    ['stop', 'stop listening or speaking at once', { cmd: 'stop' }],
    ['mute', 'mute the microphone (no wake word, no listening)', { cmd: 'mute' }],
    ['unmute', 'unmute the microphone', { cmd: 'unmute' }],
  ];
  for (const [name, description, req] of simple) {
    withSocket(program.command(name).description(description)).action(async (opts: SocketOpts) => {
      await send(opts, req);
    });
  }

  withSocket(program.command('say <text...>').description('send typed text to the gateway as a request; the reply is spoken')).action(
    async (words: string[], opts: SocketOpts) => {
      await send(opts, { cmd: 'say', text: words.join(' ') });
    },
  );

  withSocket(program.command('volume <percent>').description('set the speaker volume, 0-100')).action(async (percent: string, opts: SocketOpts) => {
    const n = Number(percent);
    if (!Number.isFinite(n) || n < 0 || n > 100) {
      process.stderr.write(`speaker-agent: volume must be a number from 0 to 100 (got "${percent}")\n`);
      process.exitCode = 2;
      return;
    }
    await send(opts, { cmd: 'volume', percent: n });
  });

  withSocket(program.command('status').description('show what the agent is doing and why')).option('--json', 'print JSON').action(
    async (opts: SocketOpts & { json?: boolean }) => {
      const reply = await send(opts, { cmd: 'status' });
      if (!reply?.ok) return;
      const status = reply.status as SessionStatus;
      process.stdout.write(opts.json ? JSON.stringify(status) + '\n' : formatStatus(status));
    },
  );

  withSocket(program.command('events').description('print the agent\'s events as they happen (JSON lines)')).action(async (opts: SocketOpts) => {
    try {
      const ac = new AbortController();
      process.once('SIGINT', () => ac.abort());
      await subscribe(resolveSocket(opts), (e) => process.stdout.write(JSON.stringify(e) + '\n'), ac.signal);
    } catch (err) {
      process.exitCode = reportError(err);
    }
  });
}
