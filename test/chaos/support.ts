/**
 * The fault-injection suite's tools (npm run chaos): the real CLI as a child process, a
 * scripted gateway that can be told how to misbehave, a loopback TCP proxy that can black-hole
 * the link, and an observer that follows the agent's state from its control socket, as a user's
 * script would, and measures what the user lives through.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { writeWav } from '../support/wav.js';

export const CLI = path.resolve('dist/src/cli.js');
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function until(pred: () => boolean, what: string, timeoutMs: number): Promise<number> {
  const start = performance.now();
  while (!pred()) {
    if (performance.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
  return performance.now() - start;
}

/** Speech-like noise at about -20 dBFS, `ms` long, as the wav: mic's file. */
export function writeSpeechWav(file: string, ms: number): void {
  const n = Math.round((ms * 16000) / 1000);
  const pcm = new Int16Array(n);
  let x = 7;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    pcm[i] = ((x % 6000) - 3000) * 1.1;
  }
  writeWav(file, pcm, 16000);
}

// ---- the agent ---------------------------------------------------------------------------

export interface AgentOptions {
  dir: string;
  gatewayUrl: string;
  socket: string;
  /** Extra YAML appended to the config file. */
  extraYaml?: string;
}

export class AgentProc {
  readonly child: ChildProcess;
  readonly logs: Record<string, unknown>[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  exit: { code: number | null; signal: NodeJS.Signals | null; at: number } | undefined;
  #partial = '';

  private constructor(child: ChildProcess) {
    this.child = child;
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => {
      this.#partial += d;
      let nl: number;
      while ((nl = this.#partial.indexOf('\n')) >= 0) {
        const line = this.#partial.slice(0, nl);
        this.#partial = this.#partial.slice(nl + 1);
        try {
          this.logs.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          this.logs.push({ event: 'unparsed-stdout', line: line.slice(0, 500) });
        }
      }
    });
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => this.logs.push({ event: 'stderr', text: d.slice(0, 2000) }));
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.exit = { code, signal, at: performance.now() };
        resolve(this.exit);
      }),
    );
  }

  static configFile(o: AgentOptions): string {
    const file = path.join(o.dir, 'agent.yaml');
    const mic = path.join(o.dir, 'mic.wav');
    writeSpeechWav(mic, 700);
    writeFileSync(
      file,
      [
        'backend: gateway',
        'gateway:',
        `  url: ${o.gatewayUrl}`,
        'audio:',
        `  mic: wav:${mic}`,
        '  micCue: listen',
        `  speaker: wav:${path.join(o.dir, 'played.wav')}`,
        'wake:',
        '  engine: none',
        'gpio:',
        '  driver: none',
        'control:',
        `  socket: ${o.socket}`,
        'log:',
        '  level: info',
        '  format: json',
        o.extraYaml ?? '',
      ].join('\n') + '\n',
    );
    return file;
  }

  /** Starts `speaker-agent run` and resolves once its control socket listens. */
  static async start(o: AgentOptions): Promise<AgentProc> {
    const config = AgentProc.configFile(o);
    const child = spawn(process.execPath, ['--max-semi-space-size=1', CLI, 'run', '--config', config], {
      env: { PATH: process.env.PATH, HOME: o.dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const a = new AgentProc(child);
    await Promise.race([
      until(() => a.logs.some((l) => l.ns === 'control' && l.event === 'listening'), 'the control socket', 20_000),
      a.exited.then((e) => {
        throw new Error(`the agent exited at start (${e.code ?? e.signal}): ${JSON.stringify(a.logs.slice(-5))}`);
      }),
    ]);
    return a;
  }

  get alive(): boolean {
    return this.exit === undefined;
  }

  /** Resident memory of the agent process, MB (from /proc). */
  rssMb(): number {
    const status = readFileSync(`/proc/${this.child.pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  }

  count(event: string): number {
    return this.logs.filter((l) => l.event === event).length;
  }

  /** Fatal lines, stderr output and unparsable stdout, from log index `from` on. */
  fatal(from = 0): Record<string, unknown>[] {
    return this.logs.slice(from).filter((l) => l.event === 'fatal' || l.event === 'stderr' || l.event === 'unparsed-stdout');
  }
}

// ---- control socket ----------------------------------------------------------------------

export function control(socket: string, req: Record<string, unknown>, timeoutMs = 5000): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const c = net.connect(socket);
    let buf = '';
    const timer = setTimeout(() => {
      c.destroy();
      reject(new Error(`control ${JSON.stringify(req)}: no reply within ${timeoutMs} ms`));
    }, timeoutMs);
    c.setEncoding('utf8');
    c.on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      c.destroy();
      resolve(JSON.parse(buf.slice(0, nl)) as Record<string, unknown>);
    });
    c.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    c.write(JSON.stringify(req) + '\n');
  });
}

/**
 * Follows the agent's events: phase, link, reply playback. Measures, for every stretch of a
 * non-idle phase, how long it went on with no reply audio playing (between `first_sample` and
 * `drained`): what "stuck" means to a user.
 */
export class Observer {
  phase = 'unknown';
  connected = false;
  playing = false;
  turnId: string | null = null;
  readonly marks: { mark: string; at: number }[] = [];
  readonly phases: { phase: string; at: number }[] = [];
  /** Longest non-idle stretch without reply audio, per phase, ms; and the worst overall. */
  readonly silentMax: Record<string, number> = {};
  #sock: net.Socket | undefined;
  #silentSince: number | undefined;

  async attach(socket: string): Promise<void> {
    this.detach();
    const c = net.connect(socket);
    this.#sock = c;
    let buf = '';
    c.setEncoding('utf8');
    await new Promise<void>((resolve, reject) => {
      c.once('connect', () => resolve());
      c.once('error', reject);
    });
    c.on('error', () => undefined);
    c.on('data', (d: string) => {
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let e: Record<string, unknown>;
        try {
          e = JSON.parse(line) as Record<string, unknown>;
        } catch {
          continue;
        }
        this.#on(e.status && typeof e.status === 'object' ? { event: 'state', ...(e.status as object) } : e);
      }
    });
    c.write(JSON.stringify({ cmd: 'events' }) + '\n');
    await until(() => this.phase !== 'unknown', 'the first state', 5000);
  }

  detach(): void {
    this.#sock?.destroy();
    this.#sock = undefined;
    this.#closeStretch();
    this.phase = 'unknown';
    this.playing = false;
  }

  #on(e: Record<string, unknown>): void {
    const now = performance.now();
    if (e.event === 'state') {
      this.connected = e.connected === true;
      this.turnId = (e.turnId as string | null) ?? null;
      const p = String(e.phase);
      if (p !== this.phase) {
        this.#closeStretch();
        this.phase = p;
        this.phases.push({ phase: p, at: now });
        if (p === 'idle') this.playing = false;
        this.#openStretch(now);
      }
    } else if (e.event === 'timeline') {
      const mark = String(e.mark);
      this.marks.push({ mark, at: now });
      if (mark === 'first_sample') {
        this.#closeStretch();
        this.playing = true;
      } else if (mark === 'drained') {
        this.playing = false;
        this.#openStretch(now);
      }
    }
  }

  #openStretch(now: number): void {
    if (this.phase !== 'idle' && this.phase !== 'unknown' && !this.playing) this.#silentSince = now;
  }

  #closeStretch(): void {
    if (this.#silentSince === undefined) return;
    const ms = performance.now() - this.#silentSince;
    this.#silentSince = undefined;
    this.silentMax[this.phase] = Math.max(this.silentMax[this.phase] ?? 0, ms);
  }

  /** Longest silent non-idle stretch so far, including the one still open. */
  worst(): { phase: string; ms: number } {
    let best = { phase: '-', ms: 0 };
    for (const [phase, ms] of Object.entries(this.silentMax)) if (ms > best.ms) best = { phase, ms };
    if (this.#silentSince !== undefined) {
      const open = performance.now() - this.#silentSince;
      if (open > best.ms) best = { phase: this.phase, ms: open };
    }
    return best;
  }

  marksSince(t: number, mark: string): number {
    return this.marks.filter((m) => m.at >= t && m.mark === mark).length;
  }
}

// ---- a scripted gateway ------------------------------------------------------------------

export interface ReplyPlan {
  /** Reply audio length, ms (16 kHz mono PCM). */
  audioMs: number;
  /** Speed relative to real time: 10 = ten times faster; 0.5 = half speed; 0 = all at once. */
  pace: number;
  /** +- random delay per chunk, ms. */
  jitterMs?: number;
  /** Milliseconds per chunk (default 100). */
  chunkMs?: number;
  /** Wait before answering, ms. */
  thinkMs?: number;
  /** Stop sending after this much audio, ms (no audio_end): a stalled reply. */
  stallAfterMs?: number;
  /** Terminate every connection after this much audio, ms (a gateway killed mid-reply). */
  killAfterMs?: number;
  /** Send the whole reply twice (the second is a re-sent duplicate). */
  duplicate?: boolean;
  /** How audio travels: binary frames or base64 audio_data. */
  form?: 'binary' | 'base64';
}

export const NORMAL: ReplyPlan = { audioMs: 1200, pace: 2 };

export class ScriptedGateway {
  wss: WebSocketServer | undefined;
  port = 0;
  plan: ReplyPlan = NORMAL;
  /** Terminate every connection when a turn has sent this many audio_data (mid-utterance). */
  killAtUplinkFrame: number | undefined;
  readonly clients = new Set<WebSocket>();
  turnsAnswered = 0;
  #rand = 1;

  get url(): string {
    return `ws://127.0.0.1:${this.port}/`;
  }

  async start(port = 0): Promise<void> {
    const wss = new WebSocketServer({ host: '127.0.0.1', port, maxPayload: 16 * 1024 * 1024 });
    await new Promise<void>((resolve, reject) => {
      wss.once('listening', () => resolve());
      wss.once('error', reject);
    });
    this.wss = wss;
    this.port = (wss.address() as AddressInfo).port;
    wss.on('connection', (ws) => this.#onConnection(ws));
  }

  /** A crash: every connection is cut and nothing listens until `start(port)` again. */
  async kill(): Promise<void> {
    for (const c of this.clients) c.terminate();
    this.clients.clear();
    const wss = this.wss;
    this.wss = undefined;
    if (wss) await new Promise<void>((resolve) => wss.close(() => resolve()));
  }

  terminateAll(): void {
    for (const c of this.clients) c.terminate();
  }

  /** A raw frame to every client. */
  raw(data: string | Buffer, binary = false): void {
    for (const c of this.clients) if (c.readyState === c.OPEN) c.send(data, { binary });
  }

  #random(): number {
    this.#rand = (this.#rand * 1103515245 + 12345) & 0x7fffffff;
    return this.#rand / 0x7fffffff;
  }

  #onConnection(ws: WebSocket): void {
    this.clients.add(ws);
    ws.on('close', () => this.clients.delete(ws));
    ws.on('error', () => undefined);
    const frames = new Map<string, number>();
    ws.on('message', (data: Buffer, isBinary) => {
      if (isBinary) return;
      let m: { action?: string; id?: string; text?: string };
      try {
        m = JSON.parse(data.toString()) as typeof m;
      } catch {
        return;
      }
      const id = m.id ?? 'none';
      if (m.action === 'audio_start') frames.set(id, 0);
      else if (m.action === 'audio_data') {
        const n = (frames.get(id) ?? 0) + 1;
        frames.set(id, n);
        if (this.killAtUplinkFrame !== undefined && n === this.killAtUplinkFrame) {
          this.killAtUplinkFrame = undefined;
          this.terminateAll();
        }
      } else if (m.action === 'audio_end' || m.action === 'text') {
        void this.#answer(ws, id, m.action === 'text' ? (m.text ?? '') : 'a stand-in transcript');
      }
    });
  }

  async #answer(ws: WebSocket, id: string, transcript: string): Promise<void> {
    const plan = this.plan;
    const send = (o: Record<string, unknown>) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(o));
    };
    send({ id, action: 'stt_transcript', transcript });
    if (plan.thinkMs) await sleep(plan.thinkMs);
    const once = async () => {
      send({ id, action: 'text', text: 'A scripted reply.' });
      send({ id, action: 'audio_start', options: { tts: { content_type: 'audio/l16; rate=16000; channels=1' } } });
      const chunkMs = plan.chunkMs ?? 100;
      const started = performance.now();
      for (let at = 0; at < plan.audioMs; at += chunkMs) {
        if (ws.readyState !== ws.OPEN) return false;
        if (plan.stallAfterMs !== undefined && at >= plan.stallAfterMs) return false;
        if (plan.killAfterMs !== undefined && at >= plan.killAfterMs) {
          this.terminateAll();
          return false;
        }
        const pcm = Buffer.alloc(Math.round((Math.min(chunkMs, plan.audioMs - at) * 32000) / 1000));
        for (let i = 0; i < pcm.length; i += 2) pcm.writeInt16LE(Math.round(3000 * Math.sin(i / 20)), i);
        if ((plan.form ?? 'binary') === 'binary') ws.send(pcm, { binary: true });
        else send({ id, action: 'audio_data', data: pcm.toString('base64') });
        if (plan.pace > 0) {
          const jitter = plan.jitterMs ? (this.#random() * 2 - 1) * plan.jitterMs : 0;
          const due = started + (at + chunkMs) / plan.pace + jitter;
          const wait = due - performance.now();
          if (wait > 1) await sleep(wait);
        }
      }
      send({ id, action: 'audio_end', prompt: false });
      return true;
    };
    const whole = await once();
    if (whole && plan.duplicate) await once();
    this.turnsAnswered++;
  }
}

// ---- a loopback TCP proxy that can black-hole ---------------------------------------------

export class BlackholeProxy {
  server: net.Server | undefined;
  port = 0;
  /** While true, bytes in either direction are swallowed; the sockets stay open. */
  holed = false;
  readonly #pairs = new Set<[net.Socket, net.Socket]>();

  constructor(private readonly target: () => number) {}

  get url(): string {
    return `ws://127.0.0.1:${this.port}/`;
  }

  async start(): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.target(), '127.0.0.1');
      const pair: [net.Socket, net.Socket] = [client, upstream];
      this.#pairs.add(pair);
      const close = () => {
        client.destroy();
        upstream.destroy();
        this.#pairs.delete(pair);
      };
      client.on('data', (d) => {
        if (!this.holed) upstream.write(d);
      });
      upstream.on('data', (d) => {
        if (!this.holed) client.write(d);
      });
      client.on('close', close);
      upstream.on('close', close);
      client.on('error', close);
      upstream.on('error', close);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const [a, b] of this.#pairs) {
      a.destroy();
      b.destroy();
    }
    const s = this.server;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
