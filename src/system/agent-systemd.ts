/**
 * Binds an agent's lifecycle to systemd: READY=1 once the agent reports `ready` (the gateway
 * connected, or its first attempt failed: then the status says "degraded" and why), STATUS=
 * whenever what an operator cares about changes, STOPPING=1 when the agent begins to stop.
 *
 * STATUS follows health (gateway link, wake word, mute, last error), not the conversation
 * phase: a turn passes through five phases in a few seconds, and each STATUS costs a helper
 * process (see notify-transport.ts), which a Pi Zero should not pay per turn.
 */
import type { Agent } from '../agent.js';
import type { SessionStatus } from '../core/session.js';
import type { SystemdNotifier } from './sd-notify.js';

/**
 * Errors whose message is the remote side's text (a gateway's `error`, a close reason): STATUS
 * is readable by every local user (`systemctl status`), so it names only the kind of error.
 */
const REMOTE_TEXT: ReadonlySet<string> = new Set(['backend', 'disconnected']);

/** One printable line of at most 160 characters (no control characters, no newlines for sd_notify). */
function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  const flat = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return flat.length > 160 ? `${flat.slice(0, 159)}…` : flat;
}

/**
 * The one-line status `systemctl status speaker-agent` shows. `mask` is the logger's secret
 * rule (Logger.mask): what the agent itself words may still quote a token.
 */
export function statusLine(s: SessionStatus, mask: (text: string) => string = (t) => t): string {
  const parts = [s.connected ? `${s.backend} connected` : `${s.backend} disconnected`];
  if (s.wake.available) parts.push(s.wake.keywords.length ? `wake word: ${s.wake.keywords.join(', ')}` : 'button only');
  else parts.push(`no wake word${s.wake.reason ? ` (${s.wake.reason})` : ''}`);
  if (s.muted) parts.push('muted');
  if (s.lastError) {
    parts.push(REMOTE_TEXT.has(s.lastError.code) ? `last error: ${s.lastError.code} (details: speaker-agent status)` : `last error: ${s.lastError.message}`);
  }
  return oneLine(mask(parts.join('; ')));
}

export interface AttachOptions {
  /**
   * READY=1 is sent at the latest this long after the agent started, marked "degraded", when
   * the gateway has not connected by then: the device still works by button and retries, and
   * systemd must not kill it for a slow network (keep it well under TimeoutStartSec=90).
   * Default 20000 ms.
   */
  degradedAfterMs?: number;
  /** The logger's secret rule (Logger.mask), applied to every STATUS line. */
  mask?: (text: string) => string;
}

/**
 * Wires `agent` to `notifier`; call before `agent.start()`. Returns a function that removes
 * the listeners again. With a disabled notifier (not under systemd) every call is a no-op.
 */
export function attachSystemd(agent: Agent, notifier: SystemdNotifier, options: AttachOptions = {}): () => void {
  const degradedAfterMs = options.degradedAfterMs ?? 20_000;
  const mask = options.mask ?? ((t: string) => t);
  let ready = false;
  let last = '';
  let degradeTimer: NodeJS.Timeout | undefined;
  const clearDegrade = () => {
    if (degradeTimer) clearTimeout(degradeTimer);
    degradeTimer = undefined;
  };
  const onReady = ({ connected, reason }: { connected: boolean; reason?: string }) => {
    clearDegrade();
    if (ready) return;
    ready = true;
    last = statusLine(agent.session.status(), mask);
    void notifier.ready(connected ? last : oneLine(mask(`degraded: ${reason ?? 'gateway unreachable'}; ${last}`)));
  };
  const onState = (s: SessionStatus) => {
    // Before READY the unit is "activating" and the ready line says it all.
    if (!ready) return;
    const line = statusLine(s, mask);
    if (line === last) return;
    last = line;
    void notifier.status(line);
  };
  const onStarted = () => {
    if (ready || !notifier.enabled) return;
    degradeTimer = setTimeout(() => onReady({ connected: false, reason: `not connected after ${degradedAfterMs / 1000} s` }), degradedAfterMs);
    degradeTimer.unref();
  };
  const onStopping = () => {
    clearDegrade();
    void notifier.stopping('stopping');
  };
  const onStopped = () => void notifier.close();
  agent.on('started', onStarted);
  agent.on('ready', onReady);
  agent.session.on('state', onState);
  agent.on('stopping', onStopping);
  agent.on('stopped', onStopped);
  return () => {
    clearDegrade();
    agent.off('started', onStarted);
    agent.off('ready', onReady);
    agent.session.off('state', onState);
    agent.off('stopping', onStopping);
    agent.off('stopped', onStopped);
  };
}
