/**
 * The fault-injection suite (npm run chaos): the real CLI (`node dist/src/cli.js run`) with a
 * wav: mic and speaker, against a scripted gateway behind a loopback proxy. Each scenario
 * injects a fault and then asserts what the user would see: the agent reaches idle, a normal
 * turn works, it did not crash, its memory stays bounded. Results (recovery times, the longest
 * stretch in a non-idle state with no reply audio playing) go to .tmp/chaos/results.json and
 * the console; docs/reliability.md quotes a run.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Fuzzer, INBOUND_TYPES } from '../support/fuzz.js';
import { AgentProc, BlackholeProxy, control, NORMAL, Observer, ScriptedGateway, sleep, until, type ReplyPlan } from './support.js';

interface Row {
  scenario: string;
  ok: boolean;
  /** Fault to idle (and connected), ms. */
  recoveryMs?: number;
  /** The normal turn after it, ms from `listen` to idle. */
  turnMs?: number;
  /** Longest stretch in a non-idle phase with no reply audio playing. */
  worstSilent?: { phase: string; ms: number };
  note?: string;
}

const rows: Row[] = [];
let dir: string;
let gw: ScriptedGateway;
let proxy: BlackholeProxy;
let agent: AgentProc;
let obs: Observer;
let socket: string;
let rssBaseline = 0;
let rssMax = 0;
let crashes = 0;
let hangs = 0;

async function startAgent(): Promise<void> {
  agent = await AgentProc.start({ dir, gatewayUrl: proxy.url, socket });
  await obs.attach(socket);
  await until(() => obs.connected, 'connected', 20_000);
}

function sampleRss(): number {
  if (!agent.alive) return 0;
  const mb = agent.rssMb();
  rssMax = Math.max(rssMax, mb);
  return mb;
}

async function idle(timeoutMs = 30_000, what = 'idle'): Promise<number> {
  try {
    return await until(() => obs.phase === 'idle', `${what} (now ${obs.phase})`, timeoutMs);
  } catch (err) {
    hangs++;
    throw err;
  }
}

/** listen -> speech -> reply played -> idle. Returns ms. */
async function normalTurn(plan: ReplyPlan = NORMAL): Promise<number> {
  gw.plan = plan;
  await idle(30_000, 'idle before the normal turn');
  await until(() => obs.connected, 'connected before the normal turn', 30_000);
  const t0 = performance.now();
  const r = await control(socket, { cmd: 'listen' });
  expect(r).toMatchObject({ ok: true });
  await until(() => obs.marksSince(t0, 'drained') > 0, 'the normal turn played its reply', 30_000);
  await idle(15_000, 'idle after the normal turn');
  return performance.now() - t0;
}

/** Runs one scenario: the fault, then idle + connected, then a normal turn; records a row. */
async function scenario(name: string, fault: () => Promise<string | void>, opts: { restartsAgent?: boolean } = {}): Promise<void> {
  for (const k of Object.keys(obs.silentMax)) delete obs.silentMax[k];
  const row: Row = { scenario: name, ok: false };
  rows.push(row);
  const t0 = performance.now();
  const logFrom = agent.logs.length;
  try {
    const note = await fault();
    if (note) row.note = note;
    // Waited for up to 2 minutes so a slow recovery is measured, not only called a hang; more
    // than `maxRecoveryMs` (40 s) fails the scenario all the same.
    await idle(120_000, `idle after "${name}"`);
    await until(() => obs.connected, `reconnected after "${name}"`, 40_000);
    row.recoveryMs = Math.round(performance.now() - t0);
    row.worstSilent = roundWorst(obs.worst());
    row.turnMs = Math.round(await normalTurn());
    expect(row.recoveryMs, `"${name}" took longer than 40 s to reach idle`).toBeLessThan(40_000);
    if (!opts.restartsAgent) expect(agent.alive, 'the agent is still running').toBe(true);
    const fatal = agent.fatal(opts.restartsAgent ? 0 : logFrom);
    if (fatal.length > 0) throw new Error(`fatal or stderr output: ${JSON.stringify(fatal[0]).slice(0, 300)}`);
    sampleRss();
    row.ok = true;
  } catch (err) {
    row.note = `${row.note ? row.note + '; ' : ''}${(err as Error).message}`;
    if (!agent.alive && !opts.restartsAgent) {
      crashes++;
      await startAgent();
    }
    throw err;
  }
}

function roundWorst(w: { phase: string; ms: number }): { phase: string; ms: number } {
  return { phase: w.phase, ms: Math.round(w.ms) };
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'sa-chaos-'));
  socket = path.join(dir, 'control.sock');
  gw = new ScriptedGateway();
  await gw.start();
  proxy = new BlackholeProxy(() => gw.port);
  await proxy.start();
  obs = new Observer();
  await startAgent();
}, 60_000);

afterAll(async () => {
  obs.detach();
  if (agent?.alive) {
    agent.child.kill('SIGTERM');
    await agent.exited;
  }
  await proxy?.stop();
  await gw?.kill();
  const longest = rows.reduce((m, r) => (r.worstSilent && r.worstSilent.ms > m.ms ? { ...r.worstSilent, scenario: r.scenario } : m), { phase: '-', ms: 0, scenario: '-' });
  const summary = { when: new Date().toISOString(), scenarios: rows.length, passed: rows.filter((r) => r.ok).length, crashes, hangs, rssBaselineMb: Math.round(rssBaseline), rssMaxMb: Math.round(rssMax), longestSilent: longest, rows };
  mkdirSync('.tmp/chaos', { recursive: true });
  writeFileSync('.tmp/chaos/results.json', JSON.stringify(summary, null, 2) + '\n');
  const table = rows.map((r) => `| ${r.scenario} | ${r.ok ? 'ok' : 'FAIL'} | ${r.recoveryMs ?? '-'} | ${r.turnMs ?? '-'} | ${r.worstSilent ? `${r.worstSilent.ms} (${r.worstSilent.phase})` : '-'} | ${r.note ?? ''} |`);
  console.log(
    [
      '| scenario | result | fault to idle+connected, ms | next normal turn, ms | longest non-idle without audio, ms | note |',
      '| --- | --- | --- | --- | --- | --- |',
      ...table,
      '',
      `scenarios ${rows.length}, passed ${summary.passed}, crashes ${crashes}, hangs ${hangs}, RSS ${summary.rssBaselineMb} MB at start, ${summary.rssMaxMb} MB at most; longest non-idle without audio: ${Math.round(longest.ms)} ms (${longest.phase}, ${longest.scenario})`,
    ].join('\n'),
  );
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('chaos: the real CLI under faults', () => {
  it('baseline: three normal turns', async () => {
    const times: number[] = [];
    for (let i = 0; i < 3; i++) times.push(Math.round(await normalTurn()));
    rssBaseline = sampleRss();
    rows.push({ scenario: 'baseline normal turn', ok: true, turnMs: Math.max(...times), worstSilent: roundWorst(obs.worst()), note: `turns ${times.join(', ')} ms` });
  });

  it('orphan messages while idle: audio without audio_start, ids of no turn', async () => {
    await scenario('orphan messages', async () => {
      gw.raw(Buffer.alloc(3200, 1), true);
      gw.raw(JSON.stringify({ action: 'audio_data', id: 'orphan-1', data: Buffer.alloc(3200, 1).toString('base64') }));
      gw.raw(JSON.stringify({ action: 'stt_transcript', id: 'orphan-2', transcript: 'nobody asked' }));
      gw.raw(JSON.stringify({ action: 'text', id: 'orphan-3', text: 'nobody asked' }));
      gw.raw(JSON.stringify({ action: 'audio_end', id: 'orphan-4', prompt: true }));
      gw.raw(JSON.stringify({ action: 'error', id: 'orphan-5', error: 'for no turn' }));
      await sleep(1500);
    });
  });

  it('a duplicate (re-sent) reply', async () => {
    await scenario('duplicate reply', async () => {
      gw.plan = { ...NORMAL, duplicate: true };
      const t0 = performance.now();
      await control(socket, { cmd: 'listen' });
      await until(() => obs.marksSince(t0, 'drained') > 0, 'the reply', 30_000);
      await idle();
      const speakingBefore = obs.phases.filter((p) => p.phase === 'speaking' && p.at >= t0).length;
      await sleep(2500); // the re-sent reply arrives and must not play again
      const speakingAfter = obs.phases.filter((p) => p.phase === 'speaking' && p.at >= t0).length;
      expect(speakingAfter).toBe(speakingBefore);
      return 'the re-sent reply was not played';
    });
  });

  it('a 20 s reply ten times faster than real time plays to its end', async () => {
    await scenario('reply 10x faster than real time (20 s)', async () => {
      gw.plan = { audioMs: 20_000, pace: 10 };
      const t0 = performance.now();
      await control(socket, { cmd: 'listen' });
      await until(() => obs.marksSince(t0, 'first_sample') > 0, 'playback', 30_000);
      const start = obs.marks.filter((m) => m.mark === 'first_sample').at(-1)!.at;
      await until(() => obs.marksSince(t0, 'drained') > 0, 'the end of the reply', 40_000);
      const played = obs.marks.filter((m) => m.mark === 'drained').at(-1)!.at - start;
      expect(played).toBeGreaterThan(19_000);
      return `played ${Math.round(played)} ms of 20000`;
    });
  });

  it('a reply at half real time with jitter', async () => {
    await scenario('reply at 0.5x real time, +-150 ms jitter (4 s)', async () => {
      gw.plan = { audioMs: 4000, pace: 0.5, jitterMs: 150 };
      const before = ((await control(socket, { cmd: 'status' })).status as { playback?: { underruns: number } }).playback?.underruns ?? 0;
      const t0 = performance.now();
      await control(socket, { cmd: 'listen' });
      await until(() => obs.marksSince(t0, 'drained') > 0, 'the end of the reply', 40_000);
      const after = ((await control(socket, { cmd: 'status' })).status as { playback?: { underruns: number } }).playback?.underruns ?? 0;
      return `${after - before} underruns`;
    });
  });

  it('a reply 1.3x real time, 300 ms jitter, 250 ms chunks', async () => {
    await scenario('reply at 1.3x, +-300 ms jitter (5 s)', async () => {
      gw.plan = { audioMs: 5000, pace: 1.3, jitterMs: 300, chunkMs: 250 };
      const t0 = performance.now();
      await control(socket, { cmd: 'listen' });
      await until(() => obs.marksSince(t0, 'drained') > 0, 'the end of the reply', 40_000);
    });
  });

  it('a reply that stalls mid-stream (no audio_end)', async () => {
    await scenario('reply stalls after 1 s of audio', async () => {
      gw.plan = { audioMs: 5000, pace: 1, stallAfterMs: 1000 };
      await control(socket, { cmd: 'listen' });
      await until(() => obs.phase === 'speaking', 'speaking', 20_000);
      return 'ends by the reply timeout (conversation.thinkingTimeoutMs after the playhead)';
    });
  });

  it('a gateway that never answers (thinking)', async () => {
    await scenario('no answer at all (thinking)', async () => {
      gw.plan = { audioMs: 1000, pace: 1, thinkMs: 60_000 };
      await control(socket, { cmd: 'listen' });
      await until(() => obs.phase === 'thinking', 'thinking', 20_000);
      await idle(40_000);
      gw.plan = NORMAL;
      return 'ends by conversation.thinkingTimeoutMs';
    });
  });

  it('the gateway killed mid-utterance (connections cut, back at once)', async () => {
    await scenario('gateway connections cut mid-utterance', async () => {
      gw.killAtUplinkFrame = 15;
      await control(socket, { cmd: 'listen' });
      await until(() => !obs.connected, 'the agent sees the link down', 20_000);
    });
  });

  it('the gateway process down mid-utterance for 3 s', async () => {
    await scenario('gateway down 3 s mid-utterance', async () => {
      const port = gw.port;
      gw.killAtUplinkFrame = 15;
      await control(socket, { cmd: 'listen' });
      await until(() => !obs.connected, 'the link down', 20_000);
      await gw.kill();
      await sleep(3000);
      await gw.start(port);
    });
  });

  it('the gateway killed mid-reply', async () => {
    await scenario('gateway connections cut mid-reply', async () => {
      gw.plan = { audioMs: 4000, pace: 1, killAfterMs: 1500 };
      await control(socket, { cmd: 'listen' });
      await until(() => !obs.connected, 'the link down', 30_000);
      gw.plan = NORMAL;
    });
  });

  it('a black-holed link mid-reply (the proxy stops forwarding)', async () => {
    let detectedMs = 0;
    await scenario('black-holed link mid-reply', async () => {
      gw.plan = { audioMs: 8000, pace: 1 };
      const t0 = performance.now();
      await control(socket, { cmd: 'listen' });
      await until(() => obs.marksSince(t0, 'first_sample') > 0, 'playback', 30_000);
      const holedAt = performance.now();
      proxy.holed = true;
      await until(() => !obs.connected, 'the agent notices the dead link', 30_000);
      detectedMs = performance.now() - holedAt;
      proxy.holed = false;
      gw.plan = NORMAL;
      return `dead link noticed after ${Math.round(detectedMs)} ms`;
    });
    expect(detectedMs).toBeLessThan(12_000);
  });

  it('control socket floods and slow readers', async () => {
    await scenario('control floods: 200 clients, a non-reader, slow subscribers', async () => {
      const before = sampleRss();
      const slow: net.Socket[] = [];
      for (let i = 0; i < 3; i++) {
        const s = net.connect(socket);
        s.on('error', () => undefined);
        s.write(JSON.stringify({ cmd: 'events' }) + '\n');
        s.pause();
        slow.push(s);
      }
      const hog = net.connect(socket);
      hog.on('error', () => undefined);
      hog.pause();
      const line = (JSON.stringify({ cmd: 'status' }) + '\n').repeat(5000);
      for (let i = 0; i < 40; i++) hog.write(line);
      const results = await Promise.allSettled(Array.from({ length: 200 }, () => control(socket, { cmd: 'status' }, 10_000)));
      const answered = results.filter((r) => r.status === 'fulfilled' && (r.value as { ok?: boolean }).ok).length;
      const busy = results.filter((r) => r.status === 'fulfilled' && (r.value as { reason?: string }).reason === 'busy').length;
      const failed: Record<string, number> = {};
      for (const r of results) {
        if (r.status === 'rejected') {
          const e = r.reason as NodeJS.ErrnoException;
          const k = e.code ?? e.message.slice(0, 40);
          failed[k] = (failed[k] ?? 0) + 1;
        }
      }
      // A turn while all that goes on; its events overflow the slow subscribers.
      await normalTurn();
      const after = sampleRss();
      hog.destroy();
      for (const s of slow) s.destroy();
      expect(after - before).toBeLessThan(100);
      return `${answered} answered, ${busy} refused busy, ${JSON.stringify(failed)} not connected, RSS ${Math.round(before)} -> ${Math.round(after)} MB, ${agent.count('subscriber-dropped')} slow subscribers dropped`;
    });
  });

  const fuzzer = new Fuzzer(2026);
  for (const type of INBOUND_TYPES) {
    it(`fuzz: 300 mutations of ${type}, then a normal turn`, async () => {
      await scenario(`fuzz ${type} x300`, async () => {
        let delivered = false;
        for (let i = 0; i < 300; i++) {
          if (i === 150 && obs.phase === 'idle') await control(socket, { cmd: 'listen' }).catch(() => undefined);
          const f = fuzzer.frame(type, obs.turnId);
          gw.raw(f.data, f.binary);
          if (i % 20 === 0) await sleep(5);
        }
        // A sentinel behind the batch (re-sent: a frame over ws's maxPayload closes the link).
        const sentinelAt = performance.now();
        const before = agent.logs.length;
        while (!delivered) {
          gw.raw(JSON.stringify({ action: 'teleport-sentinel' }));
          await sleep(300);
          delivered = agent.logs.slice(before).some((l) => typeof l.reason === 'string' && l.reason.includes('teleport-sentinel'));
          if (performance.now() - sentinelAt > 30_000) throw new Error('the batch was not delivered within 30 s');
        }
        // Minutes of fuzzed audio may be queued: that plays (speaking with audio); a user stops it.
        if (obs.phase === 'speaking' && obs.playing) await control(socket, { cmd: 'stop' });
        sampleRss();
      });
    }, 200_000);
  }

  it('memory stayed bounded over everything above', () => {
    const now = sampleRss();
    rows.push({ scenario: 'memory (RSS, MB)', ok: now - rssBaseline < 120, note: `baseline ${Math.round(rssBaseline)}, now ${Math.round(now)}, max ${Math.round(rssMax)}` });
    expect(now - rssBaseline).toBeLessThan(120);
  });

  const phases = ['idle', 'listening', 'thinking', 'speaking'] as const;
  async function reach(phase: (typeof phases)[number]): Promise<void> {
    if (phase === 'idle') return;
    gw.plan = phase === 'thinking' ? { audioMs: 1000, pace: 1, thinkMs: 8000 } : { audioMs: 6000, pace: 1 };
    const t0 = performance.now();
    await control(socket, { cmd: 'listen' });
    if (phase === 'speaking') await until(() => obs.marksSince(t0, 'first_sample') > 0, 'speaking with audio', 20_000);
    else await until(() => obs.phase === phase, phase, 20_000);
  }
  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    for (const phase of phases) {
      it(`${signal} while ${phase}, then a restart and a normal turn`, async () => {
        await scenario(`${signal} while ${phase}`, async () => {
          await reach(phase);
          const sentAt = performance.now();
          agent.child.kill(signal);
          const exit = await Promise.race([agent.exited, sleep(5000).then(() => undefined)]);
          if (!exit) {
            hangs++;
            agent.child.kill('SIGKILL');
            throw new Error(`${signal}: no exit within 5 s`);
          }
          const exitMs = Math.round(exit.at - sentAt);
          if (signal === 'SIGTERM') {
            expect(exit.code).toBe(0);
            expect(exitMs).toBeLessThan(2500);
          }
          obs.detach();
          gw.plan = NORMAL;
          const restartAt = performance.now();
          await startAgent();
          const up = Math.round(performance.now() - restartAt);
          const stale = agent.count('stale-socket-removed');
          return `exit ${exit.code ?? exit.signal} after ${exitMs} ms; restarted and connected in ${up} ms${stale ? ' (stale socket removed)' : ''}`;
        }, { restartsAgent: true });
      }, 90_000);
    }
  }
});
