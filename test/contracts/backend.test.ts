/**
 * Every Backend runs the contract against its loopback far side: the gateway client against the
 * bundled LocalGateway on port 0, the soca backend against the fake Soca server, and the
 * pipeline backend against the fake AssemblyAI, skill and SLNG TTS servers. The connection
 * rules also run against a far side that accepts TCP and never answers.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { PipelineBackend } from '../../src/backends/pipeline.js';
import { HttpSkill } from '../../src/backends/skill.js';
import { SocaBackend } from '../../src/backends/soca.js';
import { AssemblyAiStt } from '../../src/backends/stt/assemblyai.js';
import { SlngTts } from '../../src/backends/tts/slng.js';
import { parseConfig } from '../../src/config/load.js';
import { ConfigSchema } from '../../src/config/schema.js';
import { GatewayClient } from '../../src/gateway/client.js';
import { LocalGateway } from '../../src/local-gateway/server.js';
import { silentLogger } from '../../src/log/logger.js';
import { FakeAssemblyAi, FakeSkill, FakeSlngTts, FakeSoca, reply } from '../fakes/index.js';
import { backendContract, type BackendSubject } from './backend.js';

/** A TCP server that accepts connections and never says a word (a far side that hangs). */
async function silentServer(): Promise<{ url: string; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `ws://127.0.0.1:${port}/`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// ---- gateway ------------------------------------------------------------------------------

function gatewayClient(url: string): GatewayClient {
  const config = parseConfig({ gateway: { url, reconnectMinMs: 50, reconnectMaxMs: 200, connectTimeoutMs: 500 } });
  return new GatewayClient(config.gateway, silentLogger(), { env: {} });
}

backendContract(
  'GatewayClient vs the bundled LocalGateway',
  async (): Promise<BackendSubject> => {
    const gw = new LocalGateway({ log: silentLogger(), speech: 'tone', pace: 0, followUp: 'never' });
    await gw.start();
    return { backend: gatewayClient(gw.url), drop: () => gw.dropClients(), connections: () => gw.authHeaders.length, cleanup: () => gw.stop() };
  },
  {
    name: 'gateway',
    drops: true,
    unreachable: async () => {
      const far = await silentServer();
      return { backend: gatewayClient(far.url), cleanup: far.close };
    },
  },
);

// ---- soca ---------------------------------------------------------------------------------

const SOCA_KEY = 'soca-contract-key-123456';
const mp3 = (n: number) => Buffer.from([0xff, 0xfb, 0x90, n, n, n]);

function socaBackend(url: string): SocaBackend {
  const base = ConfigSchema.parse({ backend: 'soca', soca: { agentId: 'agent-contract', url } }).soca;
  return new SocaBackend({ config: { ...base, reconnectMinMs: 20, reconnectMaxMs: 200, connectTimeoutMs: 500 }, key: SOCA_KEY, log: silentLogger(), random: () => 0.5 });
}

backendContract(
  'SocaBackend vs the fake Soca server',
  async (): Promise<BackendSubject> => {
    const fake = await new FakeSoca({ key: SOCA_KEY, auto: { transcript: 'what time is it', sentences: [[mp3(1), mp3(2)], [mp3(3)]] } }).start();
    return { backend: socaBackend(fake.url), drop: () => fake.last.ws.terminate(), connections: () => fake.connections.length, cleanup: () => fake.close() };
  },
  {
    name: 'soca',
    drops: true,
    unreachable: async () => {
      const far = await silentServer();
      return { backend: socaBackend(far.url), cleanup: far.close };
    },
    knownViolations: {
      'sendText() before start() throws DisconnectedError':
        'SocaBackend.sendText never throws: it emits turnError on the next tick, connected or not (src/backends/soca.ts)',
      'after stop(), sendText() throws DisconnectedError':
        'SocaBackend.sendText never throws: it emits turnError on the next tick, connected or not (src/backends/soca.ts)',
    },
  },
);

// ---- pipeline -----------------------------------------------------------------------------

const AAI_KEY = 'aai-contract-key-0123';
const SLNG_KEY = 'slng-contract-key-abc';

backendContract(
  'PipelineBackend vs the fake AssemblyAI, skill and SLNG TTS servers',
  async (): Promise<BackendSubject> => {
    const log = silentLogger();
    const aai = await new FakeAssemblyAi({ key: AAI_KEY, transcript: 'What time is it?' }).start();
    const tts = await new FakeSlngTts({ key: SLNG_KEY }).start();
    const skill = await new FakeSkill(reply('It is noon.')).start();
    const config = ConfigSchema.parse({
      backend: 'pipeline',
      pipeline: { stt: 'assemblyai', assemblyai: { url: aai.url }, slngTts: { url: tts.url, rateLimitRetryMs: 20 }, skill: { url: skill.url, timeoutMs: 2000 } },
    }).pipeline;
    const backend = new PipelineBackend({
      stt: new AssemblyAiStt({ config: config.assemblyai, key: AAI_KEY, log, connectTimeoutMs: 5000 }),
      skill: new HttpSkill({ config: config.skill, log }),
      tts: new SlngTts({ config: config.slngTts, key: SLNG_KEY, authScheme: 'Bearer', log, connectTimeoutMs: 5000 }),
      log,
      authRetryMs: 100,
    });
    return { backend, cleanup: async () => void (await Promise.all([aai.close(), tts.close(), skill.close()])) };
  },
  { name: 'pipeline' },
);
