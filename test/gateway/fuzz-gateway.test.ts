/**
 * Seeded fuzzing of every inbound gateway message type (the fast part; `npm run chaos` runs the
 * same fuzzer against the real CLI): at least 300 mutations per type, deep nesting and huge
 * values included, half of them inside a turn; after each batch the agent must be idle (or get
 * there), connected, and a normal turn must work. Memory is measured by the chaos suite, on the
 * agent's own process (here the fuzzer and the gateway share the test's).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseGatewayMessage } from '../../src/gateway/protocol.js';
import { Fuzzer, INBOUND_TYPES } from '../support/fuzz.js';
import { connected, phase, silence, speech, startHarness, waitFor, type Harness } from '../support/harness.js';

const PER_TYPE = 300;
const SEED = 12;

describe('parser fuzz', () => {
  it(`parseGatewayMessage never throws: ${PER_TYPE} mutations x ${INBOUND_TYPES.length} types`, () => {
    const f = new Fuzzer(SEED);
    let refused = 0;
    for (const type of INBOUND_TYPES) {
      if (type === 'binary') continue;
      for (let i = 0; i < PER_TYPE; i++) {
        const frame = f.frame(type, 'turn-1');
        let r;
        try {
          r = parseGatewayMessage(frame.data as string);
        } catch (err) {
          throw new Error(`parseGatewayMessage threw on ${frame.what}: ${String(err)}`);
        }
        if (!r.ok) refused++;
        else if (r.message.action === 'response') expect(JSON.stringify(r.message.data).length).toBeLessThan(64 * 1024);
        else if (r.message.action === 'error') expect(JSON.stringify(r.message.detail).length + r.message.message.length).toBeLessThan(64 * 1024);
      }
    }
    expect(refused).toBeGreaterThan(0);
  });
});

describe('agent fuzz', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ gateway: { followUp: 'never' }, config: { conversation: { thinkingTimeoutMs: 2000 } } });
    await connected(h);
  });
  afterAll(async () => {
    await h.close();
  });

  const f = new Fuzzer(SEED + 1);
  for (const type of INBOUND_TYPES) {
    it(`${type}: ${PER_TYPE} mutations, then idle and a normal turn`, async () => {
      for (let i = 0; i < PER_TYPE; i++) {
        if (i === PER_TYPE / 2 && phase(h) === 'idle') h.agent.session.trigger('control'); // the rest inside a turn
        const frame = f.frame(type, h.agent.session.status().turnId);
        h.gw.broadcastRaw(frame.data, frame.binary);
        if (i % 25 === 0) await new Promise((r) => setTimeout(r, 5));
      }
      // A sentinel behind the batch: once it arrives, every fuzz frame has.
      let delivered = false;
      const onResponse = (r: { data: unknown }) => {
        if ((r.data as { sentinel?: string } | null)?.sentinel === type) delivered = true;
      };
      h.agent.session.on('response', onResponse);
      // A frame over ws's maxPayload closes the link (1009) and the agent reconnects: frames sent
      // meanwhile are lost, so the sentinel is re-sent until it arrives.
      const resend = setInterval(() => h.gw.broadcastRaw(JSON.stringify({ action: 'response', id: null, data: { sentinel: type } })), 500);
      h.gw.broadcastRaw(JSON.stringify({ action: 'response', id: null, data: { sentinel: type } }));
      try {
        await waitFor(() => delivered, `the ${type} batch delivered`, 20_000);
      } catch (err) {
        if (process.env.FUZZ_DEBUG) console.log(h.logLines().filter((l) => l.event !== 'message-ignored' && l.event !== 'reply-audio-dropped').slice(-30).map((l) => JSON.stringify(l).slice(0, 250)).join('\n'));
        throw err;
      } finally {
        clearInterval(resend);
      }
      h.agent.session.off('response', onResponse);
      // Audio the batch queued plays out (a fuzzed reply can hold minutes): that is speaking with
      // audio, not a hang; the user would press stop, and so does the test.
      if (phase(h) === 'speaking' && h.speaker.playing) h.agent.session.stopAll();
      await waitFor(() => phase(h) === 'idle', `idle after the ${type} batch (now ${phase(h)})`, 20_000);
      await connected(h);
      const ends = h.speaker.ends;
      h.agent.session.trigger('control');
      h.mic.push(speech(600));
      h.mic.push(silence(1500));
      try {
        await waitFor(() => h.speaker.ends > ends && phase(h) === 'idle', `a normal turn after the ${type} batch`, 15_000);
      } catch (err) {
        if (process.env.FUZZ_DEBUG) console.log(h.logText().split('\n').slice(-60).join('\n'));
        throw err;
      }
    }, 60_000);
  }
});
