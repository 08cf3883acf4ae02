/**
 * Whether the ALSA drivers can run here: their native addons (`speaker` for playback,
 * naudiodon for capture) must load, each checked in a throw-away process against the test's
 * own ALSA configuration (the file plugin, see test/audio-alsa-env.ts). Undefined means they
 * can; otherwise the reason, which the skipped suite carries in its name.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { probeSpeakerLoad } from '../../src/drivers/alsa/speaker-module.js';

const require = createRequire(import.meta.url);

function resolveAddon(name: string): { path?: string; problem?: string } {
  try {
    return { path: require.resolve(name) };
  } catch {
    return { problem: `the "${name}" native addon is not installed (optional dependency; needs libasound2-dev to build)` };
  }
}

/** Why `AlsaSpeaker` cannot run here, or undefined. */
export async function speakerAddonProblem(env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const { problem } = resolveAddon('speaker');
  if (problem) return problem;
  const why = await probeSpeakerLoad(env);
  return why ? `the "speaker" native addon does not load here (${why})` : undefined;
}

/** Why `AlsaMic` cannot run here, or undefined. */
export function micAddonProblem(env: NodeJS.ProcessEnv): string | undefined {
  const { path, problem } = resolveAddon('naudiodon');
  if (problem) return problem;
  const r = spawnSync(process.execPath, ['-e', 'require(process.argv[1])', path!], { env, stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000, encoding: 'utf8' });
  if (r.status === 0) return undefined;
  const line = (r.stderr ?? '').split('\n').find((l) => l.trim() && !l.startsWith('ALSA lib')) ?? `exit ${r.signal ?? r.status}`;
  return `the "naudiodon" native addon does not load here (${line.trim()})`;
}
