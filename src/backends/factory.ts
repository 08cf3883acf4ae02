/**
 * Builds the direct backends from the config: reads keys (file, systemd credential or
 * environment), checks the settings that only matter for the chosen backend, and wires the
 * clients. Loaded lazily by the registry, so the gateway backend never loads this code.
 */
import { readFileSync } from 'node:fs';
import type { Config, PipelineConfig } from '../config/schema.js';
import { ConfigError, errorMessage } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { Backend } from '../ports/backend.js';
import { LocalTts } from '../speech/local-tts.js';
import { PhraseError, type GrammarSpec } from '../speech/phrases.js';
import { PocketsphinxStt } from '../speech/pocketsphinx.js';
import { PipelineBackend } from './pipeline.js';
import { readKey, type KeyDeps } from './secret.js';
import { declaredPhrases, HttpSkill } from './skill.js';
import { SocaBackend } from './soca.js';
import { AssemblyAiStt } from './stt/assemblyai.js';
import { SlngStt } from './stt/slng.js';
import type { SttClient } from './stt/types.js';
import { SlngTts, type TtsClient } from './tts/slng.js';

export function createSocaBackend(config: Config, log: Logger, deps: KeyDeps = {}): Backend {
  const soca = config.soca;
  if (!soca.agentId) throw new ConfigError(['soca.agentId: required when backend is "soca": the id of the agent you created in Soca Studio']);
  const key = readKey('soca', soca, log, deps);
  return new SocaBackend({ config: soca, key, log });
}

/**
 * The offline recogniser for the pipeline: its grammar is the skill's phrases (from the config,
 * or declared by the skill on GET, fetched at the first turn). Problems become ConfigErrors.
 */
export function createPocketsphinxStt(p: PipelineConfig, log: Logger, grammar: GrammarSpec | (() => Promise<GrammarSpec>)): PocketsphinxStt {
  try {
    return new PocketsphinxStt({
      modelDir: p.pocketsphinx.modelDir,
      ...(p.pocketsphinx.hmm ? { hmm: p.pocketsphinx.hmm } : {}),
      ...(p.pocketsphinx.dict ? { dict: p.pocketsphinx.dict } : {}),
      rejectThreshold: p.pocketsphinx.rejectThreshold,
      completeSilenceMs: p.pocketsphinx.completeSilenceMs,
      grammars: typeof grammar === 'function' ? async () => ({ default: await grammar() }) : { default: grammar },
      log,
    });
  } catch (err) {
    if (err instanceof PhraseError) throw new ConfigError([`pipeline.skill.phrases: ${err.message}`]);
    throw new ConfigError([`pipeline.stt: ${errorMessage(err)}`]);
  }
}

/** SLNG, or an offline voice on the device. */
function createTts(p: PipelineConfig, log: Logger, deps: KeyDeps): TtsClient {
  if (p.tts !== 'slng') return new LocalTts(p.tts, p.localTts.voice, 'pipeline.tts');
  const ttsKey = readKey('pipeline.slngTts', p.slngTts, log, deps);
  return new SlngTts({ config: p.slngTts, key: ttsKey, authScheme: p.slngAuthScheme, log, connectTimeoutMs: p.connectTimeoutMs });
}

export function createPipelineBackend(config: Config, log: Logger, deps: KeyDeps = {}): Backend {
  const p = config.pipeline;
  let token: string | undefined;
  if (p.skill.tokenFile) {
    const read = deps.readFile ?? ((f: string) => readFileSync(f, 'utf8'));
    try {
      token = read(p.skill.tokenFile).split(/\r?\n/)[0]!.trim();
    } catch (err) {
      throw new ConfigError([`pipeline.skill.tokenFile: cannot read ${p.skill.tokenFile} (${(err as NodeJS.ErrnoException).code ?? String(err)})`]);
    }
  }
  let stt: SttClient;
  if (p.stt === 'pocketsphinx') {
    const declared = p.skill.phrases.length ? { phrases: p.skill.phrases, rules: p.skill.rules } : () => declaredPhrases({ config: p.skill, token, log });
    stt = createPocketsphinxStt(p, log, declared);
  } else if (p.stt === 'assemblyai') {
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
  const tts = createTts(p, log, deps);
  const skill = new HttpSkill({ config: p.skill, token, log });
  return new PipelineBackend({ stt, skill, tts, log, authRetryMs: p.authRetryMs, notUnderstood: p.pocketsphinx.notUnderstood });
}
