/** Default paths of the agent's files, with no dependency on the config loader. */
import os from 'node:os';
import path from 'node:path';

/** Default control socket: systemd's RuntimeDirectory, else XDG_RUNTIME_DIR, else a private directory in the temp dir. */
export function defaultControlSocket(env: NodeJS.ProcessEnv = process.env): string {
  if (env.RUNTIME_DIRECTORY) return path.join(env.RUNTIME_DIRECTORY.split(':')[0]!, 'control.sock');
  if (env.XDG_RUNTIME_DIR) return path.join(env.XDG_RUNTIME_DIR, 'speaker-agent.sock');
  // A private 0700 directory, created and checked by the control server (src/control/socket-dir.ts).
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  return path.join(os.tmpdir(), `speaker-agent-${uid}`, 'control.sock');
}
