import { WebSocket } from './ws-lib.js';

/**
 * Closes a WebSocket with the normal close handshake, and cuts it off when the peer has not
 * answered within `timeoutMs` (a peer that never answers must not hold up shutdown).
 */
export function closeGracefully(ws: WebSocket, reason: string, timeoutMs = 1000): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
  if (ws.readyState === WebSocket.CONNECTING) {
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
    if (ws.readyState === WebSocket.OPEN) ws.close(1000, reason);
  });
}
