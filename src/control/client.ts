/** Client side of the control socket, used by the CLI verbs and by tests. */
import net from 'node:net';
import type { ControlReply, ControlRequest } from './protocol.js';

export class ControlUnavailableError extends Error {
  readonly code = 'control-unavailable';
}

function connect(socketPath: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(socketPath);
    sock.once('connect', () => {
      sock.removeAllListeners('error');
      sock.on('error', () => undefined); // the caller adds its own; never an unhandled one
      resolve(sock);
    });
    sock.once('error', (err: NodeJS.ErrnoException) => {
      const why =
        err.code === 'ENOENT'
          ? 'no agent is running there'
          : err.code === 'EACCES'
            ? 'permission denied (join the service group, e.g. `sudo usermod -aG speaker-agent $USER`)'
            : err.code === 'ECONNREFUSED'
              ? 'nothing is listening (a stale socket: is the agent running?)'
              : err.message;
      reject(new ControlUnavailableError(`cannot reach the agent at ${socketPath}: ${why}`));
    });
  });
}

/** Sends one request and resolves with its reply. */
export async function request(socketPath: string, req: ControlRequest, timeoutMs = 5000): Promise<ControlReply> {
  const sock = await connect(socketPath);
  return new Promise((resolve, reject) => {
    let buf = '';
    sock.on('error', (err) => {
      clearTimeout(timer);
      reject(new ControlUnavailableError(`the agent at ${socketPath} closed the connection (${err.message})`));
    });
    sock.on('close', () => {
      clearTimeout(timer);
      reject(new ControlUnavailableError(`the agent at ${socketPath} closed the connection without an answer`));
    });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new ControlUnavailableError(`the agent at ${socketPath} did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => {
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      sock.end();
      try {
        resolve(JSON.parse(buf.slice(0, nl)) as ControlReply);
      } catch {
        reject(new Error('the agent sent an unreadable reply'));
      }
    });
    sock.write(JSON.stringify(req) + '\n');
  });
}

/** Subscribes to events; `onEvent` gets each event object. Resolves when the socket closes. */
export async function subscribe(
  socketPath: string,
  onEvent: (event: Record<string, unknown>) => void,
  signal?: AbortSignal,
  onSubscribed?: () => void,
): Promise<void> {
  const sock = await connect(socketPath);
  return new Promise((resolve) => {
    let buf = '';
    let first = true;
    signal?.addEventListener('abort', () => sock.destroy());
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let obj: Record<string, unknown>;
        try {
          obj = JSON.parse(line) as Record<string, unknown>;
        } catch {
          continue;
        }
        if (first) {
          first = false; // the subscription's own reply
          if (obj.status) onEvent({ event: 'state', ...(obj.status as object), time: new Date().toISOString() });
          onSubscribed?.();
          continue;
        }
        onEvent(obj);
      }
    });
    sock.on('close', () => resolve());
    sock.on('error', () => resolve());
    sock.write(JSON.stringify({ cmd: 'events' }) + '\n');
  });
}
