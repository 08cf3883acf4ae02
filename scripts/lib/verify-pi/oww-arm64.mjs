// The openWakeWord engine's cheaper forms of its models (the streaming and long embedding graphs,
// the mel front end in JavaScript) on linux-arm64 onnxruntime-node, run by
// scripts/verify-oww-arm64.sh under qemu-user: each must pass its check at load, then 40 steps of
// a test signal must give the stock models' embeddings and scores. Exits 1 when any falls back.
import fs from 'node:fs';
import { loadOnnxRuntime } from '../../../dist/src/drivers/openwakeword/runtime.js';
import { FastEmbedding } from '../../../dist/src/drivers/openwakeword/embedding-graphs.js';
import { StreamingFeatures } from '../../../dist/src/drivers/openwakeword/features.js';
import { resolveModelFiles } from '../../../dist/src/drivers/openwakeword/models.js';
import { OpenWakeWord } from '../../../dist/src/drivers/openwakeword/wake.js';
import { WakeSchema } from '../../../dist/src/config/schema.js';
import { memoryLogger } from '../../../dist/src/log/logger.js';
console.log('arch', process.arch, process.version);
const files = resolveModelFiles({ keyword: 'hey_jarvis' });
const rt = await loadOnnxRuntime();
const [mel, emb, kw] = [await rt.load(files.mel), await rt.load(files.embedding), await rt.load(files.keyword)];
const fast = await FastEmbedding.load(rt, fs.readFileSync(files.embedding), emb, { bytes: fs.readFileSync(files.mel), model: mel, onModel: (r) => console.log('mel model kept:', r) });
console.log('streaming form loaded and checked; mel front end in JavaScript:', fast.mel !== null);
// A sawtooth-and-sine "speech" stream: compare streaming vs stock, step by step.
const a = new StreamingFeatures(mel, emb, 16), b = new StreamingFeatures(mel, emb, 16, fast);
await a.init(); await b.init();
let worst = 0, worstScore = 0;
const chunk = new Int16Array(1280);
for (let c = 0; c < 40; c++) {
  for (let i = 0; i < 1280; i++) { const t = c * 1280 + i; chunk[i] = Math.round(4000 * Math.sin(t / 11) * Math.sin(t / 1700) + ((t * 7919) % 600) - 300); }
  await a.push(chunk); await b.push(chunk);
  for (let i = 0; i < a.embeddings.length; i++) worst = Math.max(worst, Math.abs(a.embeddings[i] - b.embeddings[i]));
  const sa = (await kw.run(a.embeddings, [1, 16, 96]))[0], sb = (await kw.run(b.embeddings, [1, 16, 96]))[0];
  worstScore = Math.max(worstScore, Math.abs(sa - sb));
}
console.log('40 steps: embeddings differ by at most', worst.toExponential(2), '; scores by', worstScore.toExponential(2), '; streamed steps', fast.steps, 'primes', fast.primes);
const mem = memoryLogger('debug');
const wake = new OpenWakeWord({ config: WakeSchema.parse({ engine: 'openwakeword' }), log: mem.logger });
await wake.start();
const ready = mem.lines().find((e) => e.event === 'wake-ready');
console.log(JSON.stringify(ready));
await wake.stop();
const ok = ready?.embedding === 'streaming' && ready?.mel === 'javascript' && worst < 1e-3 && worstScore < 1e-4 && fast.steps > 30;
console.log(ok ? 'oww-arm64: all checks passed' : 'oww-arm64: FAILED');
process.exit(ok ? 0 : 1);
