/**
 * Capture through ALSA's `arecord` (alsa-utils), one process per open stream: raw PCM16LE on its
 * stdout (a pipe the event loop reads into one reused buffer, pcm-pipe.ts), its diagnostics on stderr, where libasound's noise is counted and dropped. It needs no
 * native addon, so it works on every architecture and Debian release Raspberry Pi OS is built
 * on; a crash in ALSA ends arecord, not the agent. Costs measured in docs/audio.md.
 *
 * Opening: hardware (`hw:`) devices are first asked for their channel and rate ranges
 * (`--dump-hw-params`, in a run that is ended right after), so they are captured natively with
 * all their channels; other PCMs are asked only when the first format fails. Each candidate
 * format is tried with `-v`, whose setup dump says what ALSA actually opened (a `hw:` device
 * silently takes the nearest rate it has). The period is the frame size, so each read
 * delivers one frame of audio as soon as the device has it.
 */
import type { ChildProcess } from 'node:child_process';
import { DeviceError, errorMessage } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import { type CapturePcm, parseHwParams, parsePcmList, parseSetup, pcmCandidates, type ParamRange, resolveCapturePcm, resolvesWithoutList } from './alsa-names.js';
import { ALSA_UTILS_FIX, eachLine, endTool, findTool, isAlsaLibNoise, readHwParamsDump, spawnTool, toolError } from './alsa-tool.js';
import { openPcmPipe, type PcmPipe } from './pcm-pipe.js';
import type { CaptureBackend, CaptureRequest, CaptureSink, CaptureStream } from './capture.js';
import { DEVICE_HINT, readCards } from './devices.js';
import type { CaptureCandidate } from './portaudio-child.js';

/** Longest wait for arecord to open a device and report its setup. */
const OPEN_TIMEOUT_MS = 5000;
/** libasound lines kept for the report when arecord dies. */
const LAST_ALSA_LINES = 3;

/** Lists capture PCM names (`arecord -L`). */
export function listCapturePcms(tool: string, env?: NodeJS.ProcessEnv): Promise<string[]> {
  return new Promise((resolve) => {
    const child = spawnTool(tool, ['-L'], ['ignore', 'pipe'], env);
    let out = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => (out += d));
    child.stderr!.resume();
    const timer = setTimeout(() => child.kill('SIGKILL'), OPEN_TIMEOUT_MS);
    child.on('error', () => resolve([]));
    child.on('close', () => {
      clearTimeout(timer);
      resolve(parsePcmList(out));
    });
  });
}

interface Attempt {
  child: ChildProcess;
  /** The pipe arecord writes its PCM into (its stdout), or none: then its stdout is a stream. */
  pipe: PcmPipe | undefined;
  format: CaptureCandidate;
  /** Routes stdout (PCM) and stderr lines from now on; PCM that came before is passed first. */
  take(pcm: (b: Buffer) => void, line: (l: string) => void): void;
}

type AttemptResult = { ok: true; attempt: Attempt } | { ok: false; reason: string; deviceLevel: boolean };

/** Args for one capture attempt. */
function captureArgs(pcm: string, c: CaptureCandidate, chunkMs: number, dump: boolean): string[] {
  const args = ['-D', pcm, '-t', 'raw', '-f', 'S16_LE', '-r', String(c.sampleRate), '-c', String(c.channels), `--period-time=${chunkMs * 1000}`, '-v'];
  if (dump) args.push('--dump-hw-params');
  return args;
}

export class ArecordCapture implements CaptureBackend {
  readonly name = 'arecord';
  readonly #tool: string | undefined;

  /** `tool`: path of arecord (default: found on PATH). */
  constructor(tool?: string) {
    this.#tool = tool ?? findTool('arecord');
  }

  async open(req: CaptureRequest, sink: CaptureSink): Promise<CaptureStream> {
    const log = req.log.child('arecord');
    const tool = this.#tool;
    if (!tool) throw new DeviceError(`microphone "alsa:${req.device}": arecord is not installed; ${ALSA_UTILS_FIX}`);
    const cards = readCards(req.cardsPath);
    const pcms = resolvesWithoutList(req.device) ? [] : await listCapturePcms(tool, req.env);
    const pcm = resolveCapturePcm(req.device, pcms, cards);
    let ranges: { channels?: ParamRange; rate?: ParamRange } = {};
    if (pcm.hardware && !(req.rate && req.channels)) ranges = await this.#probe(tool, pcm, req, log);
    const tried: string[] = [];
    let candidates = pcmCandidates(pcm, ranges, req);
    for (let i = 0; i < candidates.length; i++) {
      const c = candidates[i]!;
      const r = await this.#attempt(tool, pcm, c, req, log);
      if (r.ok) return this.#stream(r.attempt, pcm, sink, log);
      tried.push(`${c.sampleRate} Hz x${c.channels}: ${r.reason}`);
      if (r.deviceLevel) {
        throw new DeviceError(`microphone "alsa:${req.device}" (ALSA "${pcm.name}"): ${r.reason}; ${DEVICE_HINT}`);
      }
      if (!ranges.channels) {
        // What the device really takes: retry with formats inside its ranges.
        ranges = await this.#probe(tool, pcm, req, log);
        const done = candidates.slice(0, i + 1);
        const rest = pcmCandidates(pcm, ranges, req).filter((x) => !done.some((y) => y.sampleRate === x.sampleRate && y.channels === x.channels));
        candidates = [...done, ...rest];
      }
    }
    throw new DeviceError(
      `microphone "alsa:${req.device}" (ALSA "${pcm.name}") cannot capture in any of the formats tried (${tried.join('; ')}); set audio.micRate/audio.micChannels to what "speaker-agent devices" lists`,
    );
  }

  /** The device's channel and rate ranges, from a run that is ended right after its dump. */
  async #probe(tool: string, pcm: CapturePcm, req: CaptureRequest, log: Logger): Promise<{ channels?: ParamRange; rate?: ParamRange }> {
    const child = spawnTool(tool, captureArgs(pcm.name, { sampleRate: 16000, channels: 1 }, req.chunkMs, true), ['ignore', 'ignore'], req.env);
    const text = await readHwParamsDump(child, OPEN_TIMEOUT_MS);
    const ranges = parseHwParams(text);
    log.debug('hw-params', { device: pcm.name, channels: ranges.channels, rate: ranges.rate });
    return ranges;
  }

  /** Starts arecord in one format; resolves when its setup dump confirms the format, or it failed. */
  #attempt(tool: string, pcm: CapturePcm, c: CaptureCandidate, req: CaptureRequest, log: Logger): Promise<AttemptResult> {
    // One reader each for the process's life, routed. The pipe's chunks are views of its one
    // buffer: what comes before take() is copied.
    let early: Buffer[] = [];
    let onPcm: (b: Buffer) => void = (b) => early.push(Buffer.from(b));
    let onLine: (l: string) => void = () => undefined;
    let pipe: PcmPipe | undefined;
    try {
      pipe = openPcmPipe((b) => onPcm(b));
      pipe.socket.on('error', (e) => log.debug('arecord-pipe-error', { stream: 'pcm', error: e.message }));
    } catch (err) {
      // No FIFO here (no mkfifo, no writable temporary directory): its stdout as a stream then.
      log.info('pcm-pipe-unavailable', { error: errorMessage(err), fallback: 'stdout' });
    }
    const child = spawnTool(tool, captureArgs(pcm.name, c, req.chunkMs, false), ['ignore', pipe ? pipe.writeFd : 'pipe'], req.env);
    if (pipe) pipe.handedOver();
    else child.stdout!.on('data', (b: Buffer) => onPcm(b));
    eachLine(child.stderr!, (l) => onLine(l));
    const take: Attempt['take'] = (pcmTo, lineTo) => {
      onLine = lineTo;
      for (const b of early) pcmTo(b);
      early = [];
      onPcm = pcmTo;
    };
    return new Promise((resolve) => {
      let text = '';
      let inSetup = false;
      let settled = false;
      let noise = 0;
      const errors: string[] = [];
      const settle = (r: AttemptResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (!r.ok) pipe?.close();
        if (noise) log.debug('dropped-alsa-messages', { lines: noise });
        resolve(r);
      };
      const timer = setTimeout(() => {
        void endTool(child);
        settle({ ok: false, reason: `arecord did not open the device within ${OPEN_TIMEOUT_MS} ms`, deviceLevel: true });
      }, OPEN_TIMEOUT_MS);
      onLine = (line) => {
        if (settled) return;
        if (isAlsaLibNoise(line)) {
          noise++;
          return;
        }
        const err = toolError(line, 'arecord');
        if (err) errors.push(err);
        text += line + '\n';
        // The first "Its setup is:" block is the PCM as opened: what arrives on stdout.
        if (/Its setup is:/.test(line)) inSetup = true;
        const format = inSetup ? parseSetup(text.slice(text.indexOf('Its setup is:'))) : undefined;
        if (format) settle({ ok: true, attempt: { child, pipe, format, take } });
      };
      child.on('error', (e) => settle({ ok: false, reason: `cannot run arecord (${e.message}); ${ALSA_UTILS_FIX}`, deviceLevel: true }));
      child.on('exit', (code, signal) => {
        const reason = errors[errors.length - 1] ?? `arecord exited (${signal ?? `code ${code}`})`;
        settle({ ok: false, reason, deviceLevel: /audio open error|No such device|not found/i.test(reason) });
      });
    });
  }

  #stream(attempt: Attempt, pcm: CapturePcm, sink: CaptureSink, log: Logger): CaptureStream {
    const { child, pipe, format } = attempt;
    let closed = false;
    let faulted = false;
    let lastError = '';
    let noise = 0;
    let overruns = 0;
    let errorLines = 0;
    // libasound's last words: dropped from the log while capture runs, kept for when it dies.
    const lastAlsa: string[] = [];
    const fault = (message: string) => {
      if (closed || faulted) return;
      faulted = true;
      sink.fault(message);
    };
    const onLine = (line: string) => {
      if (isAlsaLibNoise(line)) {
        noise++;
        lastAlsa.push(line.slice(0, 300));
        if (lastAlsa.length > LAST_ALSA_LINES) lastAlsa.shift();
        return;
      }
      if (/overrun!!!/.test(line)) {
        // arecord recovers by itself; the agent was late reading (a loaded Pi).
        if (overruns++ % 50 === 0) log.debug('capture-overrun', { device: pcm.name, count: overruns });
        return;
      }
      const err = toolError(line, 'arecord');
      if (err) {
        lastError = err;
        // A device in trouble can repeat its error line: the first few are enough.
        if (errorLines++ < 5) log.debug('arecord-stderr', { line: line.slice(0, 300) });
      }
      // Anything else is the rest of the -v setup dump.
    };
    // A broken pipe to arecord is its exit, reported below; never an unhandled stream error
    // (the PCM pipe has its listener from the attempt).
    child.stdout?.on('error', (e) => log.debug('arecord-pipe-error', { stream: 'stdout', error: e.message }));
    child.stderr!.on('error', (e) => log.debug('arecord-pipe-error', { stream: 'stderr', error: e.message }));
    child.on('error', (e) => fault(`arecord: ${e.message}`));
    child.on('exit', (code, signal) => {
      if (noise) log.debug('dropped-alsa-messages', { lines: noise });
      if (closed) return;
      // The one line that says why capture stopped, with what ALSA said last.
      log.warn('capture-process-exited', { tool: 'arecord', pid: child.pid, device: pcm.name, code, signal, error: lastError || undefined, alsaLines: noise, lastAlsa: lastAlsa.length ? lastAlsa : undefined });
      const why = lastError || (lastAlsa.length ? lastAlsa[lastAlsa.length - 1]!.replace(/^ALSA lib \S+ /, '') : '');
      fault(`arecord exited (${signal ?? `code ${code}`})${why ? `: ${why}` : ''}`);
    });
    attempt.take((b) => {
      if (!closed) sink.pcm(b);
    }, onLine);
    return {
      format,
      deviceName: pcm.name,
      pid: child.pid,
      close: async () => {
        closed = true;
        await endTool(child);
        pipe?.close();
      },
    };
  }
}
