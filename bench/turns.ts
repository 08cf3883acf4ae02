/**
 * `npm run bench -- turns`: the memory of the real CLI's process tree over many turns (issue 14:
 * "flat over 1,000 turns"). Set up as the process-tree bench (bench/process-tree.ts): ALSA's file
 * plugin reads a FIFO fed by a paced writer process, the service's environment, arecord capture.
 * Each turn: `listen` on the control socket; the loopback gateway takes 100 ms of the uplink,
 * sends the transcript and a 300 ms MP3 reply (made with lame; 16 kHz PCM where lame is
 * missing), and `audio_end`; the agent plays it through ALSA and goes back to idle (its `status`
 * is polled). The tree's RSS (and the main process's private part) is read from /proc after
 * turn 10 and every 100 turns. JSON in bench/results/turns.json.
 *
 * Environment: `BENCH_TURNS` (default 1000), `BENCH_CLI` (default dist/src/cli.js),
 * `BENCH_MP3_DECODER` (`audio.mp3Decoder`, default the agent's), `BENCH_NODE_OPTIONS` (the agent's
 * Node flags, default the unit's; `none`: Node's defaults).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { processTree, sleep, spawnAgent, startWriter, unitEnvironment, until, writeAsoundrc } from './process-tree.js';

const REPLY_MS = 300;

/** A 300 ms two-tone reply, as MP3 when lame is installed. */
function replyAudio(dir: string): { contentType: string; bytes: Buffer } {
  const pcm = Buffer.alloc((16000 * REPLY_MS) / 1000 * 2);
  for (let i = 0; i < pcm.length / 2; i++) pcm.writeInt16LE(Math.round(6000 * Math.sin((2 * Math.PI * (i < 2400 ? 440 : 660) * i) / 16000)), i * 2);
  const raw = path.join(dir, 'reply.raw');
  writeFileSync(raw, pcm);
  try {
    execFileSync('lame', ['--quiet', '-r', '-s', '16', '--bitwidth', '16', '--signed', '--little-endian', '-m', 'm', '-b', '32', raw, path.join(dir, 'reply.mp3')]);
    return { contentType: 'audio/mpeg', bytes: readFileSync(path.join(dir, 'reply.mp3')) };
  } catch {
    return { contentType: 'audio/l16; rate=16000; channels=1', bytes: pcm };
  }
}

function control(sock: string, cmd: object): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let text = '';
    const c = connect(sock, () => c.write(`${JSON.stringify(cmd)}\n`));
    c.on('data', (d: Buffer) => {
      text += d.toString();
      const nl = text.indexOf('\n');
      if (nl >= 0) {
        c.end();
        resolve(JSON.parse(text.slice(0, nl)) as Record<string, unknown>);
      }
    });
    c.once('error', reject);
  });
}

export async function runTurnsBench(): Promise<object> {
  const turns = Math.max(20, Number(process.env.BENCH_TURNS ?? 1000));
  const cli = path.resolve(process.env.BENCH_CLI || 'dist/src/cli.js');
  const dir = mkdtempSync(path.join(tmpdir(), 'sa-turns-'));
  const fifo = path.join(dir, 'mic.fifo');
  execFileSync('mkfifo', [fifo]);
  writeAsoundrc(dir, fifo, '/dev/null');
  const reply = replyAudio(dir);
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  let client: WebSocket | undefined;
  let replied = 0;
  wss.on('connection', (ws) => {
    client = ws;
    const frames = new Map<string, number>();
    ws.on('message', (data: Buffer, binary) => {
      if (binary) return;
      const m = JSON.parse(data.toString('utf8')) as { action: string; id: string };
      if (m.action === 'audio_start') frames.set(m.id, 0);
      if (m.action !== 'audio_data' || !frames.has(m.id)) return;
      const n = frames.get(m.id)! + 1;
      frames.set(m.id, n);
      if (n !== 5) return;
      frames.delete(m.id);
      ws.send(JSON.stringify({ id: m.id, action: 'stt_transcript', transcript: 'what time is it', confidence: 0.9 }));
      ws.send(JSON.stringify({ id: m.id, action: 'audio_start', content_type: reply.contentType }));
      for (let at = 0; at < reply.bytes.length; at += 4096) ws.send(JSON.stringify({ id: m.id, action: 'audio_data', data: reply.bytes.subarray(at, at + 4096).toString('base64') }));
      ws.send(JSON.stringify({ id: m.id, action: 'audio_end', prompt: false }));
      replied++;
    });
  });
  const config = path.join(dir, 'agent.json');
  const decoder = process.env.BENCH_MP3_DECODER ? { mp3Decoder: process.env.BENCH_MP3_DECODER } : {};
  writeFileSync(config, JSON.stringify({ conversation: { endOnSilence: false }, audio: { alsaBackend: 'arecord', ...decoder, earcons: { wake: 'off', done: 'off', error: 'off', disconnected: 'off' } } }));
  const unit = unitEnvironment();
  const sock = path.join(dir, 'control.sock');
  const writer = startWriter(fifo, 24 * 3600, path.join(dir, 'writes.json'));
  const flags = process.env.BENCH_NODE_OPTIONS ?? unit.NODE_OPTIONS ?? '';
  const nodeOptions = flags === 'none' ? [] : flags.split(/\s+/).filter(Boolean);
  const agent = spawnAgent({ cli, config, port: (wss.address() as AddressInfo).port, sock, dir, nodeOptions, env: { MALLOC_ARENA_MAX: unit.MALLOC_ARENA_MAX } });
  const samples: { turn: number; treeMiB: number; mainMiB: number; mainAnonMiB: number }[] = [];
  const sample = (turn: number) => {
    const tree = processTree(agent.child.pid!);
    const mib = (k: number) => Math.round((k / 1024) * 10) / 10;
    samples.push({ turn, treeMiB: mib(tree.reduce((n, p) => n + p.rssKiB, 0)), mainMiB: mib(tree[0]!.rssKiB), mainAnonMiB: mib(tree[0]!.anonKiB) });
  };
  const t0 = Date.now();
  try {
    await until(() => client !== undefined, 'the agent to connect');
    await until(() => existsSync(sock), 'the control socket');
    for (let i = 1; i <= turns; i++) {
      const want = replied + 1;
      await control(sock, { cmd: 'listen' });
      await until(() => replied >= want, `turn ${i}'s reply`);
      // Back to idle once the reply has played.
      for (;;) {
        const s = await control(sock, { cmd: 'status' });
        if ((s.status as { phase?: string } | undefined)?.phase === 'idle') break;
        await sleep(20);
      }
      if (i === 10 || i % 100 === 0) sample(i);
    }
  } catch (err) {
    throw agent.explain(err);
  } finally {
    writer.kill('SIGKILL');
    await agent.stop();
    wss.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const first = samples[0]!;
  const last = samples.at(-1)!;
  const result = {
    turns,
    seconds: Math.round((Date.now() - t0) / 1000),
    reply: { contentType: reply.contentType, ms: REPLY_MS, decoder: process.env.BENCH_MP3_DECODER ?? 'default' },
    cli: path.relative(process.cwd(), cli),
    agentNodeOptions: nodeOptions.join(' '),
    treeRssMiB: { after10: first.treeMiB, [`after${turns}`]: last.treeMiB, growth: Math.round((last.treeMiB - first.treeMiB) * 10) / 10, max: Math.max(...samples.map((s) => s.treeMiB)) },
    mainAnonMiB: { after10: first.mainAnonMiB, [`after${turns}`]: last.mainAnonMiB },
    samples,
    targets: { treeRssMiB: 60, growthMiB: 3 },
  };
  process.stdout.write(`turns: ${turns} in ${result.seconds} s; tree RSS ${first.treeMiB} MiB after 10, ${last.treeMiB} after ${turns} (max ${result.treeRssMiB.max})\n`);
  return result;
}
