/** The part of a WebSocket (ws's or net/ws-client.ts's) that closing needs; both use the RFC's state numbers. */
interface Closable {
  readonly readyState: number;
  close(code?: number, reason?: string): void;
  terminate(): void;
  once(event: 'close', listener: () => void): unknown;
}

const CONNECTING = 0;
const OPEN = 1;
const CLOSED = 3;

/**
 * Closes a WebSocket with the normal close handshake, and cuts it off when the peer has not
 * answered within `timeoutMs` (a peer that never answers must not hold up shutdown).
 */
export function closeGracefully(ws: Closable, reason: string, timeoutMs = 1000): Promise<void> {
  if (ws.readyState === CLOSED) return Promise.resolve();
  if (ws.readyState === CONNECTING) {
    ws.terminate();
    return Promise.resolve();
  }
  return new Promise<void>((resolve) => {
    const force = setTimeout(() => {
      ws.terminate();
      resolve();
    }, timeoutMs);
    ws.once('close', () => {
      clearTimeout(force);
      resolve();
    });
    if (ws.readyState === OPEN) ws.close(1000, reason);
  });
}
