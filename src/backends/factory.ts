/**
 * Builds the direct backends from the config: reads keys (file, systemd credential or
 * environment), checks the settings that only matter for the chosen backend, and wires the
 * clients. Loaded lazily by the registry, so the gateway backend never loads this code.
 */
import { readFileSync } from 'node:fs';
import type { Config } from '../config/schema.js';
import { ConfigError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { Backend } from '../ports/backend.js';
import { PipelineBackend } from './pipeline.js';
import { readKey, type KeyDeps } from './secret.js';
import { HttpSkill } from './skill.js';
import { SocaBackend } from './soca.js';
import { AssemblyAiStt } from './stt/assemblyai.js';
import { SlngStt } from './stt/slng.js';
import type { SttClient } from './stt/types.js';
import { SlngTts } from './tts/slng.js';

export function createSocaBackend(config: Config, log: Logger, deps: KeyDeps = {}): Backend {
  const soca = config.soca;
  if (!soca.agentId) throw new ConfigError(['soca.agentId: required when backend is "soca": the id of the agent you created in Soca Studio']);
  const key = readKey('soca', soca, log, deps);
  return new SocaBackend({ config: soca, key, log });
}

export function createPipelineBackend(config: Config, log: Logger, deps: KeyDeps = {}): Backend {
  const p = config.pipeline;
  let stt: SttClient;
  if (p.stt === 'assemblyai') {
    const key = readKey('pipeline.assemblyai', p.assemblyai, log, deps);
    stt = new AssemblyAiStt({ config: p.assemblyai, key, log, connectTimeoutMs: p.connectTimeoutMs });
  } else {
    const url = p.slngStt.url;
    if (!url) {
      throw new ConfigError(['pipeline.slngStt.url: required when pipeline.stt is "slng", e.g. wss://api.slng.ai/v1/stt/deepgram/nova:3']);
    }
    const key = readKey('pipeline.slngStt', p.slngStt, log, deps);
    stt = new SlngStt({ config: { ...p.slngStt, url }, key, authScheme: p.slngAuthScheme, log, connectTimeoutMs: p.connectTimeoutMs });
  }
  const ttsKey = readKey('pipeline.slngTts', p.slngTts, log, deps);
  const tts = new SlngTts({ config: p.slngTts, key: ttsKey, authScheme: p.slngAuthScheme, log, connectTimeoutMs: p.connectTimeoutMs });
  let token: string | undefined;
  if (p.skill.tokenFile) {
    const read = deps.readFile ?? ((f: string) => readFileSync(f, 'utf8'));
    try {
      token = read(p.skill.tokenFile).split(/\r?\n/)[0]!.trim();
    } catch (err) {
      throw new ConfigError([`pipeline.skill.tokenFile: cannot read ${p.skill.tokenFile} (${(err as NodeJS.ErrnoException).code ?? String(err)})`]);
    }
  }
  const skill = new HttpSkill({ config: p.skill, token, log });
  return new PipelineBackend({ stt, skill, tts, log, authRetryMs: p.authRetryMs });
}
