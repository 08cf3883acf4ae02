/** Helpers shared by the fake speech services: a ws server on loopback port 0, and waiting. */
import type { AddressInfo } from 'node:net';
import type { IncomingMessage } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';

export interface Started {
  wss: WebSocketServer;
  port: number;
}

/** A WebSocketServer on 127.0.0.1, port chosen by the OS. `verify` may refuse the upgrade with a status. */
export async function listen(verify?: (req: IncomingMessage) => number | undefined, options: { autoPong?: boolean } = {}): Promise<Started> {
  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    autoPong: options.autoPong ?? true,
    verifyClient: verify
      ? (info, cb) => {
          const status = verify(info.req);
          if (status) cb(false, status);
          else cb(true);
        }
      : undefined,
  });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  return { wss, port: (wss.address() as AddressInfo).port };
}

/** Closes the server and every client socket. */
export async function closeServer(wss: WebSocketServer): Promise<void> {
  for (const c of wss.clients) c.terminate();
  await new Promise<void>((resolve) => wss.close(() => resolve()));
}

/** Resolves once `pred()` is true, polling on each macrotask; rejects after `timeoutMs` with `what`. */
export async function until(pred: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const start = Date.now();
  while (!pred()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

export function sendJson(ws: WebSocket, msg: unknown): void {
  ws.send(JSON.stringify(msg));
}
