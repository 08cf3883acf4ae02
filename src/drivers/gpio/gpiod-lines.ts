/**
 * GPIO pins through the GPIO character device, using the libgpiod command-line tools
 * (`apt install gpiod`): the way to reach the header on a Pi 5 and on any current kernel.
 *
 * Why the tools and not a Node binding: the maintained bindings need libgpiod headers of one
 * major version at build time, while Raspberry Pi OS ships v1 (bookworm) or v2 (trixie); the
 * tools exist for both and differ only in syntax, which is handled here. The chip is found by
 * its label (`pinctrl-rp1`, `pinctrl-bcm2711`, `pinctrl-bcm2835`), never by number: the header
 * moved from gpiochip4 to gpiochip0 within the 6.6 kernels.
 *
 * - button: one long-lived `gpiomon` printing "<offset> <edge>" per edge;
 * - outputs: `gpioset` holds a line only while it runs, so each level change replaces the
 *   holding process (fine for LEDs and a power pin; no PWM: a single LED is on or off).
 */
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { createInterface } from 'node:readline';
import { DeviceError } from '../../errors.js';
import { gpioError } from './errors.js';
import type { Bias, GpioLines, InputLine, OutputLine } from './lines.js';

/** Header chip labels, most recent board first. */
export const DEFAULT_CHIP_LABELS = ['pinctrl-rp1', 'pinctrl-bcm2711', 'pinctrl-bcm2835'];

export type Spawn = (command: string, args: readonly string[], options: SpawnOptions) => ChildProcess;
/** Runs a command to completion: resolves stdout, rejects with an error carrying `code`/`stderr`. */
export type Exec = (command: string, args: readonly string[]) => Promise<string>;

export interface GpiodLinesOptions {
  spawn: Spawn;
  exec: Exec;
  /** Label to look for instead of the defaults. */
  chipLabel?: string;
}

/** Parses `gpiodetect` output ("gpiochip0 [pinctrl-rp1] (54 lines)"; same in v1 and v2). */
export function parseGpiodetect(text: string): { chip: string; label: string; lines: number }[] {
  const out: { chip: string; label: string; lines: number }[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\S+)\s+\[([^\]]*)\]\s+\((\d+) lines?\)/.exec(line.trim());
    if (m) out.push({ chip: m[1]!, label: m[2]!, lines: Number(m[3]) });
  }
  return out;
}

/** Major version from `gpiodetect --version` ("gpiodetect (libgpiod) v1.6.3" / "v2.1"). */
export function parseGpiodVersion(text: string): number {
  const m = /libgpiod\)?\s+v?(\d+)\./.exec(text);
  if (!m) throw new DeviceError(`cannot tell the libgpiod version from "${text.split('\n')[0]}"`);
  return Number(m[1]);
}

/** Arguments of `gpiomon` watching one line, for tools version `major`. Output: "<offset> <e>". */
export function gpiomonArgs(major: number, chip: string, pin: number, bias: Bias): string[] {
  const biasArg = bias === 'none' ? 'disable' : bias;
  // %e is 1 for a rising edge in both versions (falling: 0 in v1, 2 in v2).
  if (major >= 2) return ['-c', chip, '-b', biasArg, '-e', 'both', '-F', '%o %e', String(pin)];
  return ['-B', biasArg, '-b', '-F', '%o %e', chip, String(pin)];
}

/** Arguments of a `gpioset` that holds `pin` at `high` until it is signalled. */
export function gpiosetArgs(major: number, chip: string, pin: number, high: boolean): string[] {
  const v = `${pin}=${high ? 1 : 0}`;
  // v2 holds the line until killed by default; v1 exits at once unless told to wait for a signal.
  if (major >= 2) return ['-c', chip, v];
  return ['--mode=signal', chip, v];
}

/** Maps the tools' stderr to the usual causes. */
function toolError(chip: string, pin: number, stderr: string, exitCode: number | null): DeviceError {
  const device = `/dev/${chip}`;
  if (/permission denied/i.test(stderr)) return gpioError(device, Object.assign(new Error(stderr), { code: 'EACCES' }), pin);
  if (/busy/i.test(stderr)) return gpioError(device, Object.assign(new Error(stderr), { code: 'EBUSY' }), pin);
  return new DeviceError(`GPIO${pin} on ${device}: ${stderr.trim() || `tool exited with code ${exitCode}`}`);
}

export class GpiodLines implements GpioLines {
  readonly name = 'gpiod';
  /** The chip used, e.g. "gpiochip0". */
  readonly chip: string;
  readonly label: string;
  readonly major: number;
  readonly #spawn: Spawn;
  readonly #children = new Set<ChildProcess>();
  #closed = false;

  private constructor(o: GpiodLinesOptions, chip: string, label: string, major: number) {
    this.#spawn = o.spawn;
    this.chip = chip;
    this.label = label;
    this.major = major;
  }

  /** Finds the header chip by label and the tools' version. Throws a DeviceError saying what is missing. */
  static async open(o: GpiodLinesOptions): Promise<GpiodLines> {
    let versionText: string;
    try {
      versionText = await o.exec('gpiodetect', ['--version']);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new DeviceError('the libgpiod tools are not installed: run "sudo apt install gpiod"', { cause: err });
      }
      throw new DeviceError(`gpiodetect --version failed: ${(err as Error).message}`, { cause: err });
    }
    const major = parseGpiodVersion(versionText);
    let listing: string;
    try {
      listing = await o.exec('gpiodetect', []);
    } catch (err) {
      const text = `${(err as { stderr?: string }).stderr ?? ''} ${(err as Error).message}`;
      if (/permission denied/i.test(text)) throw gpioError('/dev/gpiochip*', Object.assign(new Error(text), { code: 'EACCES' }));
      throw new DeviceError(`gpiodetect failed: ${text.trim()}`, { cause: err });
    }
    const chips = parseGpiodetect(listing);
    const wanted = o.chipLabel ? [o.chipLabel] : DEFAULT_CHIP_LABELS;
    for (const label of wanted) {
      const found = chips.find((c) => c.label === label);
      if (found) return new GpiodLines(o, found.chip, found.label, major);
    }
    const seen = chips.map((c) => `${c.chip} [${c.label}]`).join(', ') || 'none (are you in group "gpio"?)';
    throw new DeviceError(
      `no GPIO chip labelled ${wanted.map((l) => `"${l}"`).join(' or ')}; chips found: ${seen}. ` +
        'Set gpio.chipLabel to the header chip of this board',
    );
  }

  async input(pin: number, bias: Bias, onChange: (high: boolean) => void, onError: (err: Error) => void): Promise<InputLine> {
    const child = await this.#start('gpiomon', gpiomonArgs(this.major, this.chip, pin, bias), pin);
    let stopping = false;
    const rl = createInterface({ input: child.stdout! });
    rl.on('line', (line) => {
      const m = /^(\d+)\s+(\d+)/.exec(line.trim());
      if (m && Number(m[1]) === pin) onChange(m[2] === '1');
    });
    this.#watchExit(child, pin, () => stopping, onError);
    // gpiomon reports edges only; with the bias applied an idle button reads inactive.
    return {
      initial: bias === 'pull-up',
      close: async () => {
        stopping = true;
        rl.close();
        await this.#kill(child);
      },
    };
  }

  async output(pin: number, initial: boolean, onError: (err: Error) => void): Promise<OutputLine> {
    let current = await this.#holdLevel(pin, initial, onError);
    let level = initial;
    let wanted = initial;
    let busy: Promise<void> | undefined;
    let closed = false;
    // Only the latest wanted level matters: changes that arrive while a swap runs are coalesced.
    const swap = async (): Promise<void> => {
      while (!closed && wanted !== level) {
        const next = wanted;
        await current.stop();
        if (closed) return;
        current = await this.#holdLevel(pin, next, onError);
        level = next;
      }
    };
    return {
      set: (high) => {
        wanted = high;
        if (busy || closed) return;
        busy = swap()
          .catch((err: unknown) => onError(err as Error))
          .finally(() => {
            busy = undefined;
          });
      },
      close: async () => {
        if (closed) return;
        closed = true;
        await busy;
        await current.stop();
      },
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#children].map((c) => this.#kill(c)));
  }

  /** Starts a `gpioset` holding `pin` at `high`; `stop()` ends it (the line is then released). */
  async #holdLevel(pin: number, high: boolean, onError: (err: Error) => void): Promise<{ stop(): Promise<void> }> {
    const child = await this.#start('gpioset', gpiosetArgs(this.major, this.chip, pin, high), pin);
    let stopping = false;
    this.#watchExit(child, pin, () => stopping, onError);
    return {
      stop: async () => {
        stopping = true;
        await this.#kill(child);
      },
    };
  }

  async #start(tool: string, args: string[], pin: number): Promise<ChildProcess> {
    if (this.#closed) throw new DeviceError('gpiod GPIO is closed');
    const child = this.#spawn(tool, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#children.add(child);
    child.once('exit', () => this.#children.delete(child));
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', (err: NodeJS.ErrnoException) => {
        this.#children.delete(child);
        reject(
          err.code === 'ENOENT'
            ? new DeviceError(`${tool} is not installed: run "sudo apt install gpiod"`, { cause: err })
            : new DeviceError(`cannot start ${tool} for GPIO${pin}: ${err.message}`, { cause: err }),
        );
      });
    });
    return child;
  }

  /** Reports an exit that nobody asked for (line busy, no permission, chip gone). */
  #watchExit(child: ChildProcess, pin: number, stopping: () => boolean, onError: (err: Error) => void): void {
    let stderr = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (s: string) => {
      if (stderr.length < 2000) stderr += s;
    });
    child.once('close', (code) => {
      if (!stopping() && !this.#closed) onError(toolError(this.chip, pin, stderr, code));
    });
  }

  async #kill(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    await exited;
  }
}
