/** Runs every doctor check in a sensible order and formats the verdicts, one line each. */
import type { Config } from '../config/schema.js';
import { checkConfig, checkPorcupine, checkToken, checkTokenCommand } from './config-checks.js';
import { checkAudio, checkBoard, checkDeviceAccess, checkGpio, checkGroups, checkSpi } from './device-checks.js';
import { checkGateway } from './gateway-check.js';
import { checkMqtt } from './mqtt-check.js';
import { checkAddons, checkAlsaBackend, checkClock, checkNode, checkService } from './system-checks.js';
import { checkEchoCancel, checkOpenWakeWord } from './wake-checks.js';
import type { CheckResult, DoctorContext } from './types.js';

export interface DoctorOptions {
  /** Loads the configuration exactly as `run` would (file, environment, flags). */
  loadConfig: () => Config;
  /** How to name the configuration in messages (the file path, or "defaults"). */
  configSource: string;
  /** Skip the gateway connection (offline diagnosis). Default false. */
  offline?: boolean;
  /** Called with each result as soon as it is known, so a slow check does not hide the others. */
  onResult?: (result: CheckResult) => void;
}

export async function runDoctor(ctx: DoctorContext, options: DoctorOptions): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const add = (r: CheckResult) => {
    results.push(r);
    options.onResult?.(r);
  };
  add(checkNode(ctx));
  add(await checkClock(ctx));
  const { result: configResult, config } = checkConfig(options.loadConfig, options.configSource);
  add(configResult);
  for (const r of await checkAddons(ctx, config)) add(r);
  add(await checkAlsaBackend(ctx, config));
  add(checkBoard(ctx, config));
  add(checkAudio(ctx, config));
  const { result: groupResult, account } = checkGroups(ctx);
  add(groupResult);
  add(checkDeviceAccess(ctx, account));
  add(checkGpio(ctx, config));
  add(checkSpi(ctx, config));
  if (!config) {
    for (const id of ['token', 'gateway', 'mqtt', 'porcupine', 'openwakeword', 'echo cancel']) add({ id, status: 'skip', detail: 'configuration invalid (see the config line)' });
    add(await checkService(ctx));
    return results;
  }
  const { result: tokenResult, token } = config.gateway.tokenCommand !== undefined ? await checkTokenCommand(config) : checkToken(ctx, config);
  add(tokenResult);
  if (options.offline) add({ id: 'gateway', status: 'skip', detail: 'not checked (--offline)' });
  else {
    // Not readable as this user (root-only credential): say so instead of blaming the gateway.
    const noTokenReason = !token && tokenResult.status === 'warn' && tokenResult.fix?.includes('sudo') ? `this user cannot read the token: ${tokenResult.fix}` : undefined;
    add(await checkGateway({ config, token: token?.value, noTokenReason, timeoutMs: ctx.networkTimeoutMs }));
  }
  add(await checkMqtt(ctx, config, options.offline));
  add(await checkPorcupine(ctx, config));
  add(await checkOpenWakeWord(ctx, config));
  add(await checkEchoCancel(ctx, config));
  add(await checkService(ctx));
  return results;
}

const LABEL: Record<CheckResult['status'], string> = { ok: 'ok', warn: 'WARN', fail: 'FAIL', skip: '-' };

/** One aligned line per check, a `fix:` line under each warning or failure. */
export function formatResult(r: CheckResult): string {
  const head = `${LABEL[r.status].padEnd(4)}  ${r.id.padEnd(34)} ${r.detail}`;
  return r.fix && (r.status === 'fail' || r.status === 'warn') ? `${head}\n${' '.repeat(41)}fix: ${r.fix}\n` : `${head}\n`;
}

export function summary(results: CheckResult[]): string {
  const fails = results.filter((r) => r.status === 'fail').length;
  const warns = results.filter((r) => r.status === 'warn').length;
  if (fails === 0 && warns === 0) return 'All checks passed.\n';
  return `${fails} problem${fails === 1 ? '' : 's'}, ${warns} warning${warns === 1 ? '' : 's'}.\n`;
}
