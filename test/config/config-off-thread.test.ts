/**
 * `run` loads its config in a worker thread (src/config/off-thread.ts): the same validated config
 * and the same errors as loading it in place, and the daemon's own thread never loads the schema
 * library or the YAML parser (nor ws or the HTTP stack), and loads the MP3 decoder only when an utterance has ended.
 * Runs on the build (dist/, the bundle in dist/app when it was made).
 */
import { spawn } from 'node:child_process';
import { connect, type AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { loadConfig } from '../../src/config/load.js';
import { loadConfigOffThread } from '../../src/config/off-thread.js';
import { ConfigError } from '../../src/errors.js';
import { waitFor } from '../support/harness.js';

const THREAD = pathToFileURL(path.resolve('dist/src/config/load-thread.js'));
const CLI = path.resolve('dist/src/cli.js');
const dir = mkdtempSync(path.join(os.tmpdir(), 'sa-offthread-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const f = path.join(dir, name);
  writeFileSync(f, text);
  return f;
}

describe('config in a worker thread', () => {
  it('gives the same config as loading it in place (file, profile, environment, flags)', async () => {
    const f = file('a.yaml', 'gateway:\n  url: ws://gw.local:8080/\naudio:\n  volume: 40\n');
    const options = { file: f, env: { SPEAKER_AGENT_WAKE: 'none' }, flags: { hardware: 'respeaker-2mic', 'log.level': 'debug' } };
    // The per-file build and the bundle's thread (dist/app, scripts/bundle.mjs) alike.
    for (const thread of [THREAD, pathToFileURL(path.resolve('dist/app/load-thread.js'))]) {
      const there = await loadConfigOffThread(options, thread);
      expect(there).toEqual(loadConfig(options));
      expect(there).toMatchObject({ gateway: { url: 'ws://gw.local:8080/' }, audio: { volume: 40 }, wake: { engine: 'none' }, log: { level: 'debug' } });
    }
  });

  it('fails a bad config with the same ConfigError issues', async () => {
    const f = file('bad.yaml', 'gateway:\n  url: nope\naudio:\n  volume: 400\n');
    const inPlace = (() => {
      try {
        loadConfig({ file: f, env: {} });
      } catch (err) {
        return (err as ConfigError).issues;
      }
      return [];
    })();
    expect(inPlace.length).toBeGreaterThan(1);
    const err = await loadConfigOffThread({ file: f, env: {} }, THREAD).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues).toEqual(inPlace);
    await expect(loadConfigOffThread({ file: path.join(dir, 'none.yaml'), env: {} }, THREAD)).rejects.toThrow(/none\.yaml: cannot read config file \(ENOENT\)/);
  });

  it('a thread that cannot start is a clear error, not a hang', async () => {
    await expect(loadConfigOffThread({ env: {} }, pathToFileURL(path.join(dir, 'missing.js')))).rejects.toThrow(/^loading the config failed: /);
  });

  it('the daemon thread of `run` never loads zod or yaml, and the MP3 decoder only once an utterance ends', async () => {
    // A preload that records, for the main thread only, every module it loads.
    const log = path.join(dir, 'modules.txt');
    const hooks = file('hooks.mjs', `import { appendFileSync } from 'node:fs';\nlet out;\nexport function initialize(d) { out = d.log; }\nexport async function load(url, context, next) { appendFileSync(out, url + '\\n'); return next(url, context); }\n`);
    // SIGUSR2 makes it write the built-in modules loaded so far (those `require` loads too),
    // whole: written aside and renamed, so the test never reads a file still being written.
    const builtinsLog = path.join(dir, 'builtins.txt');
    const preload = file(
      'preload.mjs',
      `import { register } from 'node:module';\nimport { renameSync, writeFileSync } from 'node:fs';\nimport { isMainThread } from 'node:worker_threads';\nif (isMainThread) register(${JSON.stringify(pathToFileURL(hooks).href)}, { data: { log: ${JSON.stringify(log)} } });\nprocess.on('SIGUSR2', () => (writeFileSync(${JSON.stringify(builtinsLog + '.tmp')}, process.moduleLoadList.join('\\n')), renameSync(${JSON.stringify(builtinsLog + '.tmp')}, ${JSON.stringify(builtinsLog)})));\n`,
    );
    // A gateway that answers the turn's audio with a transcript, and nothing else.
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((r) => wss.once('listening', r));
    const got: string[] = [];
    let peer: WebSocket | undefined;
    wss.on('connection', (ws) => {
      peer = ws;
      ws.on('message', (d: Buffer) => got.push((JSON.parse(d.toString()) as { action: string }).action));
    });
    // A growing microphone: 60 s of silence, so the turn streams for as long as the test needs.
    const mic = file('mic.wav', '');
    writeFileSync(mic, Buffer.concat([Buffer.from('RIFF\xff\xff\xff\xffWAVEfmt ', 'latin1'), Buffer.from([16, 0, 0, 0, 1, 0, 1, 0, 0x80, 0x3e, 0, 0, 0, 0x7d, 0, 0, 2, 0, 16, 0]), Buffer.from('data'), Buffer.alloc(4 + 32000 * 60)]));
    const port = (wss.address() as AddressInfo).port;
    const yaml = file('run.yaml', `gateway:\n  url: ws://127.0.0.1:${port}/\nlog:\n  format: json\n`);
    const sock = path.join(dir, 'c.sock');
    const child = spawn(process.execPath, ['--import', pathToFileURL(preload).href, CLI, 'run', '-c', yaml, '--mic', `wav:${mic}`, '--speaker', `wav:${path.join(dir, 'out.wav')}`, '--wake', 'none', '--gpio', 'none', '--control', sock], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    // The CLI runs from the bundle (scripts/bundle.mjs): each file loaded stands for the source
    // modules its manifest lists. Without a bundle, the files are the modules.
    const manifestFile = path.resolve('dist/app/manifest.json');
    const manifest = existsSync(manifestFile) ? (JSON.parse(readFileSync(manifestFile, 'utf8')) as Record<string, string[]>) : undefined;
    const appDir = pathToFileURL(path.resolve('dist/app')).href + '/';
    const root = pathToFileURL(path.resolve('.')).href + '/';
    const modules = () =>
      readFileSync(log, 'utf8')
        .split('\n')
        .flatMap((u) => (manifest && u.startsWith(appDir) ? (manifest[u.slice(appDir.length)] ?? [`unknown bundle file ${u}`]).map((m) => root + m) : [u]));
    const decoder = () => modules().filter((u) => /\/node_modules\/mpg123-decoder\//.test(u));
    try {
      await waitFor(() => /"event":"started"/.test(out) && peer !== undefined, 'the agent to start and connect', 15_000);
      const atStart = modules();
      expect(atStart.some((u) => u.endsWith('/dist/src/gateway/client.js'))).toBe(true);
      expect(atStart.some((u) => u.endsWith('/dist/src/drivers/wav/mic.js'))).toBe(true);
      expect(atStart.filter((u) => /\/node_modules\/(zod|yaml|mpg123-decoder)\//.test(u))).toEqual([]);
      expect(atStart.filter((u) => /\/dist\/src\/config\/(load|schema)\.js$/.test(u))).toEqual([]);
      // The uplink's own WebSocket client (src/net/ws-client.ts): not ws, and no HTTP stack.
      expect(atStart.filter((u) => /\/node_modules\/ws\//.test(u))).toEqual([]);
      child.kill('SIGUSR2');
      await waitFor(() => existsSync(builtinsLog), 'the list of built-in modules', 5_000);
      const builtins = readFileSync(builtinsLog, 'utf8').split('\n');
      expect(builtins).toContain('NativeModule net');
      expect(builtins.filter((b) => /^NativeModule (http|https|_http_client|zlib|tls)$/.test(b))).toEqual([]);
      // A turn that streams up does not load it...
      await new Promise<void>((resolve, reject) => {
        const c = connect(sock, () => c.write('{"cmd":"listen"}\n'));
        c.once('data', () => (c.end(), resolve()));
        c.once('error', reject);
      });
      await waitFor(() => got.filter((a) => a === 'audio_data').length >= 20, 'the turn to stream', 10_000);
      expect(decoder()).toEqual([]);
      // ...the end of the utterance (the gateway's transcript) does, before any reply audio.
      peer!.send(JSON.stringify({ action: 'stt_transcript', transcript: 'hello', confidence: 0.9 }));
      await waitFor(() => decoder().length > 0, 'the MP3 decoder to load after the transcript', 10_000);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      wss.close();
    }
  });
});
