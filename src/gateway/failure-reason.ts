/** How a connection failure is worded in the gateway client's `disconnected` events and log. */
import type { SocketFailure } from '../util/reconnecting-socket.js';

/** The `reason` of a `disconnected` event, as status and the log show it. */
export function failureReason(f: SocketFailure, auth: boolean): string {
  switch (f.kind) {
    case 'unavailable':
    case 'dropped':
      return f.reason;
    case 'invalid':
    case 'error':
      return f.error.message;
    case 'refused':
      return auth ? `gateway rejected the token (HTTP ${f.status})` : `HTTP ${f.status}`;
    case 'closed':
      return f.error?.message ?? (f.reason || `code ${f.code}`);
    case 'heartbeat':
      // Worded as the close that terminate() causes; the heartbeat-timeout line says why.
      return 'code 1006';
    case 'ready-timeout':
      return `not ready within ${f.timeoutMs} ms`;
  }
}
