/**
 * The Backend contract (src/ports/backend.ts), run against every backend and its loopback far
 * side: not connected before `start()`; the methods that send (`beginTurn`, `sendText`) throw
 * DisconnectedError whenever the backend is not connected (before start, after stop, after a
 * drop), while `sendAudio`/`endTurn`/`cancelTurn` of a turn that is not open do nothing;
 * `start()` resolves at once and connects in the background (idempotent: one connection);
 * `disconnected` says why and when the next attempt is; `stop()` is idempotent and ends the
 * retries; a turn ends in a final transcript then `replyEnd`, every reply event naming the
 * turn, reply audio only inside `replyAudioStart`..`replyAudioEnd`; `sendText` ends in
 * `replyEnd` or `turnError` for its turn.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DisconnectedError } from '../../src/errors.js';
import type { Backend } from '../../src/ports/backend.js';
import { EventLog, type Recorded } from '../support/backend-events.js';
import { sleep, suiteName, until } from './util.js';

export interface BackendSubject {
  backend: Backend;
  /** Ends the connection from the far side (a crash), for backends with a connection. */
  drop?: () => void | Promise<void>;
  /** Connections the far side has seen, when it can tell. */
  connections?: () => number;
  cleanup?: () => Promise<void> | void;
}

export interface BackendContractOptions {
  skip?: string;
  /** The backend's `name`. */
  name: string;
  /**
   * The backend against a far side that accepts TCP and never answers the upgrade, for
   * backends with a connection: the background-connect and retry rules run against it.
   */
  unreachable?: () => Promise<BackendSubject> | BackendSubject;
  /**
   * Promises this backend is known to break, by test title, with why: each such test runs as an
   * expected failure (it.fails), so it turns red the day the backend is fixed.
   */
  knownViolations?: Record<string, string>;
  /** The subject can drop its connection from the far side (`drop`): the reconnect rule runs. */
  drops?: boolean;
  /** Longest wait for a connection or a reply, ms (default 10000). */
  timeoutMs?: number;
  /** How long "nothing happens" is watched for, ms (default 300). */
  quietMs?: number;
}

/** 20 ms of speech-like noise at about -20 dBFS. */
function speechFrame(seed: number): Int16Array {
  const out = new Int16Array(320);
  let x = seed;
  for (let i = 0; i < out.length; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    out[i] = (x % 6000) - 3000;
  }
  return out;
}

const REPLY_EVENTS = new Set(['transcript', 'replyText', 'replyAudioStart', 'replyAudio', 'replyAudioEnd', 'replyEnd', 'response']);

function refusesSending(backend: Backend): { beginTurn: unknown; sendText: unknown } {
  const attempt = (fn: () => void): unknown => {
    try {
      fn();
      return 'did not throw';
    } catch (err) {
      return err;
    }
  };
  return { beginTurn: attempt(() => backend.beginTurn('refused-turn')), sendText: attempt(() => backend.sendText('refused-text', 'hello')) };
}

export function backendContract(name: string, makeSubject: () => Promise<BackendSubject> | BackendSubject, options: BackendContractOptions): void {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const quietMs = options.quietMs ?? 300;
  const open: BackendSubject[] = [];
  const test = (title: string, fn: () => Promise<void>) => {
    const why = options.knownViolations?.[title];
    if (why) it.fails(`${title} [known violation: ${why}]`, fn);
    else it(title, fn);
  };

  (options.skip ? describe.skip : describe)(suiteName(`Backend contract: ${name}`, options.skip), () => {
    afterEach(async () => {
      for (const s of open.splice(0)) {
        await s.backend.stop();
        await s.cleanup?.();
      }
    });

    async function subject(make: () => Promise<BackendSubject> | BackendSubject = makeSubject) {
      const s = await make();
      open.push(s);
      return { ...s, events: new EventLog(s.backend) };
    }

    async function started(make?: () => Promise<BackendSubject> | BackendSubject) {
      const s = await subject(make);
      await s.backend.start();
      await s.events.next('connected', () => true, timeoutMs);
      return s;
    }

    test('has its name and is not connected before start()', async () => {
      const s = await subject();
      expect(s.backend.name).toBe(options.name);
      expect(s.backend.connected).toBe(false);
    });

    test('beginTurn() before start() throws DisconnectedError', async () => {
      const s = await subject();
      expect(refusesSending(s.backend).beginTurn).toBeInstanceOf(DisconnectedError);
    });

    test('sendText() before start() throws DisconnectedError', async () => {
      const s = await subject();
      expect(refusesSending(s.backend).sendText).toBeInstanceOf(DisconnectedError);
    });

    test('sendAudio(), endTurn() and cancelTurn() of a turn that is not open do nothing, started or not', async () => {
      const s = await subject();
      const poke = () => {
        s.backend.sendAudio('no-such-turn', speechFrame(1));
        s.backend.endTurn('no-such-turn');
        s.backend.cancelTurn('no-such-turn');
      };
      poke();
      await s.backend.start();
      await s.events.next('connected', () => true, timeoutMs);
      poke();
      await sleep(quietMs);
      await s.backend.stop();
      poke();
      expect(s.events.names((e) => REPLY_EVENTS.has(e.name) || e.name === 'turnError')).toEqual([]);
    });

    test('start() connects in the background: connected, then `connected` is true', async () => {
      const s = await subject();
      await s.backend.start();
      await s.events.next('connected', () => true, timeoutMs);
      expect(s.backend.connected).toBe(true);
    });

    test('start() twice is idempotent: one connection, one connected event', async () => {
      const s = await subject();
      await s.backend.start();
      await s.backend.start();
      await s.events.next('connected', () => true, timeoutMs);
      await sleep(quietMs);
      expect(s.events.names((e) => e.name === 'connected')).toEqual(['connected']);
      if (s.connections) expect(s.connections()).toBe(1);
    });

    test('a turn: a final transcript, then replyEnd; every reply event names the turn; audio only inside a reply stream', async () => {
      const s = await started();
      s.backend.beginTurn('turn-1');
      for (let i = 0; i < 30; i++) s.backend.sendAudio('turn-1', speechFrame(i + 1));
      s.backend.endTurn('turn-1');
      await s.events.next('replyEnd', (e) => e.turnId === 'turn-1', timeoutMs);
      const turn = s.events.events.filter((e) => REPLY_EVENTS.has(e.name));
      expect(turn.every((e) => (e.arg as { turnId: unknown }).turnId === 'turn-1')).toBe(true);
      const names = turn.map((e) => e.name);
      const finalAt = turn.findIndex((e) => e.name === 'transcript' && (e.arg as { final: boolean }).final);
      expect(finalAt).toBeGreaterThanOrEqual(0);
      expect(finalAt).toBeLessThan(names.indexOf('replyEnd'));
      expect(s.events.of('turnError')).toEqual([]);
      expectReplyStreamsWellFormed(turn);
    });

    test('sendText() while connected ends in replyEnd or turnError for its turn', async () => {
      const s = await started();
      s.backend.sendText('text-1', 'what time is it');
      await until(() => s.events.events.some((e) => (e.name === 'replyEnd' || e.name === 'turnError') && (e.arg as { turnId: unknown }).turnId === 'text-1'), 'replyEnd or turnError for text-1', timeoutMs);
      expectReplyStreamsWellFormed(s.events.events.filter((e) => REPLY_EVENTS.has(e.name)));
    });

    test('stop() is idempotent; then not connected, and beginTurn() throws DisconnectedError', async () => {
      const s = await started();
      await s.backend.stop();
      await s.backend.stop();
      expect(s.backend.connected).toBe(false);
      expect(refusesSending(s.backend).beginTurn).toBeInstanceOf(DisconnectedError);
    });

    test('after stop(), sendText() throws DisconnectedError', async () => {
      const s = await started();
      await s.backend.stop();
      expect(refusesSending(s.backend).sendText).toBeInstanceOf(DisconnectedError);
    });

    test('stop() is final: no connected event after it', async () => {
      const s = await started();
      await s.backend.stop();
      const n = s.events.names((e) => e.name === 'connected').length;
      await sleep(quietMs * 2);
      expect(s.events.names((e) => e.name === 'connected').length).toBe(n);
      expect(s.backend.connected).toBe(false);
    });

    if (options.unreachable) {
      const unreachable = options.unreachable;
      test('against a far side that never answers: start() resolves at once; disconnected says why and when; sending is refused; stop() ends the retries', async () => {
        const s = await subject(unreachable);
        const t0 = performance.now();
        await s.backend.start();
        expect(performance.now() - t0).toBeLessThan(500);
        expect(s.backend.connected).toBe(false);
        const d = await s.events.next('disconnected', () => true, timeoutMs);
        expect(d.reason).toMatch(/\S/);
        expect(typeof d.auth).toBe('boolean');
        expect(d.retryInMs).toBeGreaterThanOrEqual(0);
        expect(refusesSending(s.backend).beginTurn).toBeInstanceOf(DisconnectedError);
        await s.backend.stop();
        const attempts = () => s.events.names((e) => e.name === 'connected' || e.name === 'disconnected').length;
        const n = attempts();
        await sleep(Math.max(quietMs, d.retryInMs * 3));
        expect(attempts(), 'no connection attempt after stop()').toBe(n);
      });
    }

    if (!options.drops) return;

    test('a dropped connection: disconnected (sending refused meanwhile), then it reconnects', async () => {
      const s = await started();
      const drop = s.drop;
      if (!drop) throw new Error(`${name}: the drops option needs the subject's drop()`);
      let whileDown: { connected: boolean; refused: ReturnType<typeof refusesSending> } | undefined;
      s.backend.on('disconnected', () => {
        whileDown ??= { connected: s.backend.connected, refused: refusesSending(s.backend) };
      });
      await drop();
      const d = await s.events.next('disconnected', () => true, timeoutMs);
      expect(d.reason).toMatch(/\S/);
      expect(d.retryInMs).toBeGreaterThanOrEqual(0);
      expect(whileDown!.connected).toBe(false);
      expect(whileDown!.refused.beginTurn).toBeInstanceOf(DisconnectedError);
      await s.events.next('connected', () => true, timeoutMs);
      expect(s.backend.connected).toBe(true);
    });
  });
}

/** Reply audio only between a replyAudioStart and its replyAudioEnd. */
function expectReplyStreamsWellFormed(events: Recorded[]): void {
  let open = false;
  for (const e of events) {
    if (e.name === 'replyAudioStart') open = true;
    else if (e.name === 'replyAudioEnd') {
      expect(open, 'replyAudioEnd closes a stream that was started').toBe(true);
      open = false;
    } else if (e.name === 'replyAudio') expect(open, 'replyAudio inside replyAudioStart..replyAudioEnd').toBe(true);
  }
  expect(open, 'every reply stream ended').toBe(false);
}
