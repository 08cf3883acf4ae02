/**
 * Where the control socket may live. Whoever can create files in the socket's directory can put
 * their own socket there first and receive what the CLI sends (`say` text), so the directory
 * must not be writable by other users: systemd's RuntimeDirectory (/run/speaker-agent) and
 * XDG_RUNTIME_DIR are private; the fallback (no runtime directory, e.g. `sudo -u speaker-agent
 * ... run`) is a private 0700 directory in the temp dir, created here and checked to be ours
 * (docs/reliability.md, "Control socket").
 */
import { chmodSync, lstatSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The fallback directory for `uid`: `<tmp>/speaker-agent-<uid>/`. */
export function fallbackSocketDir(uid: number = currentUid(), tmp: string = os.tmpdir()): string {
  return path.join(tmp, `speaker-agent-${uid}`);
}

function currentUid(): number {
  return typeof process.getuid === 'function' ? process.getuid() : 0;
}

/** An Error for a failure on the socket path that names the path and, for ENOTDIR, the file in the way. */
export function socketFileError(socketPath: string, err: unknown): Error {
  const e = err as NodeJS.ErrnoException;
  const code = e?.code;
  if (code === 'ENOTDIR' || code === 'EEXIST') {
    const blocker = firstNonDirectory(path.dirname(socketPath));
    if (blocker) return new Error(`control socket ${socketPath}: ${blocker} is a file, not a directory (pass --control PATH, or set control.socket)`);
  }
  const why =
    code === 'ENOSPC'
      ? 'no space left on the device'
      : code === 'EACCES' || code === 'EPERM'
        ? 'permission denied'
        : code === 'ENAMETOOLONG' || code === 'EINVAL'
          ? 'the path is too long for a Unix socket (at most 107 bytes)'
          : code === 'EROFS'
            ? 'read-only file system'
            : (e?.message ?? String(err));
  return new Error(`control socket ${socketPath}: ${why}${code && !why.includes(code) ? ` (${code})` : ''}`);
}

/** The first ancestor of `dir` (itself included) that exists and is not a directory. */
function firstNonDirectory(dir: string): string | undefined {
  const parts: string[] = [];
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    parts.unshift(d);
    if (path.dirname(d) === d) break;
  }
  for (const p of parts) {
    try {
      if (!lstatSync(p).isDirectory() && !lstatSync(p).isSymbolicLink()) return p;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/**
 * Makes sure the socket's directory exists and is safe: the fallback directory is created 0700
 * and must be a real directory owned by this user; any other directory must not be writable by
 * every user (as /tmp is). Throws an Error that names the directory and the fix.
 */
export function prepareSocketDir(socketPath: string, uid: number = currentUid()): void {
  const dir = path.dirname(path.resolve(socketPath));
  const isFallback = path.basename(dir) === `speaker-agent-${uid}` && path.dirname(dir) === path.resolve(os.tmpdir());
  try {
    mkdirSync(dir, { recursive: true, mode: isFallback ? 0o700 : 0o755 });
  } catch (err) {
    throw socketFileError(socketPath, err);
  }
  const st = lstatSync(dir);
  if (isFallback) {
    if (!st.isDirectory() || st.isSymbolicLink()) throw new Error(`control socket directory ${dir} is not a directory: refusing to use it (remove it, or pass --control PATH)`);
    if (st.uid !== uid) {
      throw new Error(`control socket directory ${dir} belongs to uid ${st.uid}, not to this user (uid ${uid}): another user may have taken it; refusing to start (remove it, or pass --control PATH)`);
    }
    if ((st.mode & 0o077) !== 0) chmodSync(dir, 0o700);
    return;
  }
  if ((st.mode & 0o002) !== 0) {
    throw new Error(
      `control socket directory ${dir} is writable by every user, so another user could take the socket: refusing to start (use a private directory, e.g. --control $XDG_RUNTIME_DIR/speaker-agent.sock)`,
    );
  }
}
