/** Checks of the runtime: Node.js version, native addons, the ALSA backend, the clock, the service. */
import type { Config } from '../config/schema.js';
import { type AlsaBackendName, resolveAlsaBackend } from '../drivers/alsa/backends.js';
import type { CheckResult, DoctorContext } from './types.js';
import { speexUses } from './wake-checks.js';

/** Oldest supported Node.js major version (package.json `engines`). */
export const MIN_NODE_MAJOR = 20;
/** A clock before this year cannot be right (this release was built later): TLS would fail. */
export const MIN_SANE_YEAR = 2025;

export function checkNode(ctx: DoctorContext): CheckResult {
  const major = Number(ctx.nodeVersion.split('.')[0]);
  if (major >= MIN_NODE_MAJOR) return { id: 'node', status: 'ok', detail: `Node.js ${ctx.nodeVersion}` };
  return {
    id: 'node',
    status: 'fail',
    detail: `Node.js ${ctx.nodeVersion} is too old (need ${MIN_NODE_MAJOR} or newer)`,
    fix: 'run `sudo scripts/install.sh` again: it installs a supported Node.js (Debian package or NodeSource apt repository)',
  };
}

/** The ALSA backend this configuration uses here (`auto` resolved), or undefined without `alsa:` devices. */
export function alsaBackendOf(ctx: DoctorContext, c: Config | undefined): { name: AlsaBackendName; reason: string } | undefined {
  if (!c || !(c.audio.mic.startsWith('alsa') || c.audio.speaker.startsWith('alsa'))) return undefined;
  return (ctx.alsaBackend ?? ((s) => resolveAlsaBackend(s)))(c.audio.alsaBackend);
}

/** Addons that do not build on an architecture (docs/audio.md "Backends"). */
const NO_BUILD: Record<string, string[]> = { naudiodon: ['arm64'], speaker: ['arm64'] };

/** Native addons and when the configuration needs each one. */
export const ADDONS: {
  name: string;
  purpose: string;
  /** Whether this configuration on this board (device-tree model, if any) with this ALSA backend loads the addon. */
  needed: (c: Config | undefined, model: string, alsa: AlsaBackendName | undefined) => boolean;
  /** What a crash while loading usually means for this addon. */
  crashHint?: { detail: string; fix: string };
}[] = [
  {
    name: 'naudiodon',
    purpose: 'microphone capture for alsa: mics with audio.alsaBackend naudiodon',
    needed: (c, _m, alsa) => !!c && c.audio.mic.startsWith('alsa') && alsa === 'naudiodon',
  },
  {
    name: 'speaker',
    purpose: 'playback for alsa: speakers with audio.alsaBackend naudiodon',
    needed: (c, _m, alsa) => !!c && c.audio.speaker.startsWith('alsa') && alsa === 'naudiodon',
    // speaker opens ALSA's default playback device while loading, and mpg123 then trips an
    // assertion when there is none: the whole process aborts.
    crashHint: {
      detail: 'aborts while loading because ALSA has no default playback device',
      fix: '`aplay -l` must list a card; make it the default (e.g. `defaults.pcm.card 1` in /etc/asound.conf)',
    },
  },
  {
    name: 'koffi',
    purpose: 'alsa: devices with audio.alsaBackend koffi (libasound in-process)',
    needed: (_c, _m, alsa) => alsa === 'koffi',
  },
  {
    name: 'rpio',
    purpose: 'GPIO on Pi 1-4 and Zero 2 (gpio.driver rpio, or auto on those boards)',
    needed: (c, model) => {
      const driver = c?.gpio.driver as string | undefined;
      return driver === 'rpio' || (driver === 'auto' && /Raspberry Pi/.test(model) && !/Raspberry Pi (5|500)|Compute Module 5/.test(model));
    },
  },
  {
    name: 'spi-device',
    purpose: 'APA102 LEDs (gpio.leds.driver apa102)',
    needed: (c) => ((c?.gpio as { leds?: { driver?: string } } | undefined)?.leds?.driver ?? 'none') === 'apa102',
  },
  {
    name: 'i2c-bus',
    purpose: 'the AIY Voice Bonnet LED (gpio.leds.driver ktd2027)',
    needed: (c) => ((c?.gpio as { leds?: { driver?: string } } | undefined)?.leds?.driver ?? 'none') === 'ktd2027',
  },
  {
    name: '@picovoice/porcupine-node',
    purpose: 'the wake word with wake.engine porcupine',
    needed: (c) => (c?.wake.engine as string | undefined) === 'porcupine',
  },
  {
    name: 'onnxruntime-node',
    purpose: 'the wake word with wake.engine openwakeword (or auto without a Porcupine key; 64-bit only)',
    needed: (c) => (c?.wake.engine as string | undefined) === 'openwakeword',
  },
  {
    name: 'koffi',
    purpose: 'echo cancellation (audio.echoCancel speex) and the wake word\'s noise suppression (wake.noiseSuppression), with libspeexdsp1',
    needed: (c) => {
      const uses = c ? speexUses(c) : undefined;
      return !!uses && (uses.aec || uses.denoise);
    },
  },
];

function rebuildFix(ctx: DoctorContext, name: string): string {
  return `sudo apt-get install -y build-essential python3 libasound2-dev && cd ${ctx.appDir} && sudo npm rebuild ${name}`;
}

/** The fix for an addon that did not build here at all. */
function notBuiltFix(ctx: DoctorContext, name: string): string {
  const arch = ctx.arch ?? process.arch;
  if (NO_BUILD[name]?.includes(arch)) return `${name} does not build on ${arch}: set audio.alsaBackend: arecord (the default) or koffi in the config (docs/audio.md)`;
  if (name === 'naudiodon' && arch === 'arm') return `sudo apt-get install -y libjack-jackd2-0 && cd ${ctx.appDir} && sudo npm rebuild naudiodon`;
  return `cd ${ctx.appDir} && sudo npm ci --omit=dev (optional dependencies are built there)`;
}

/** Loads every addon (each in its own child process); one result per addon. */
export async function checkAddons(ctx: DoctorContext, config: Config | undefined, options: { onlyNeeded?: boolean } = {}): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  let model = '';
  try {
    model = ctx.fs.readText('/proc/device-tree/model').replace(/\0/g, '');
  } catch {
    // not a Pi: boards only matter for rpio
  }
  const alsa = alsaBackendOf(ctx, config)?.name;
  for (const addon of ADDONS) {
    const id = `addon ${addon.name}`;
    const needed = addon.needed(config, model, alsa);
    if (options.onlyNeeded && !needed) continue;
    const load = await ctx.loadAddon(addon.name);
    if (load.status === 'ok') {
      results.push({ id, status: 'ok', detail: `loads; used for ${addon.purpose}` });
    } else if (load.status === 'missing') {
      results.push({
        id,
        status: needed ? 'fail' : 'skip',
        detail: needed ? `not installed, but needed for ${addon.purpose}` : `not installed; only needed for ${addon.purpose}`,
        fix: needed ? notBuiltFix(ctx, addon.name) : undefined,
      });
    } else {
      const abi = /NODE_MODULE_VERSION|was compiled against a different Node\.js version/.test(load.message);
      if (load.code === 'SIGNAL' && addon.crashHint) {
        results.push({ id, status: needed ? 'fail' : 'warn', detail: `${addon.crashHint.detail} (${load.message})`, fix: addon.crashHint.fix });
        continue;
      }
      // naudiodon's bundled 32-bit ARM PortAudio links JACK.
      const jack = /libjack/.test(load.message);
      results.push({
        id,
        status: needed ? 'fail' : 'warn',
        detail: abi ? `built for another Node.js version; used for ${addon.purpose}` : `fails to load: ${load.message}; used for ${addon.purpose}`,
        fix: abi ? `cd ${ctx.appDir} && sudo npm rebuild ${addon.name}` : jack ? 'sudo apt-get install -y libjack-jackd2-0' : rebuildFix(ctx, addon.name),
      });
    }
  }
  return results;
}

/** Which ALSA backend `alsa:` devices use here, and whether what it needs is there. */
export async function checkAlsaBackend(ctx: DoctorContext, config: Config | undefined): Promise<CheckResult> {
  const id = 'alsa backend';
  const chosen = alsaBackendOf(ctx, config);
  if (!chosen) return { id, status: 'skip', detail: 'no alsa: devices configured' };
  const detail = `${chosen.name} (${chosen.reason})`;
  if (chosen.name === 'arecord') {
    const [rec, play] = await Promise.all([ctx.exec('arecord', ['--version']), ctx.exec('aplay', ['--version'])]);
    if (rec.code !== 0 || play.code !== 0) {
      return { id, status: 'fail', detail: `${detail}, but ${rec.code !== 0 ? 'arecord' : 'aplay'} does not run`, fix: 'sudo apt-get install -y alsa-utils' };
    }
    return { id, status: 'ok', detail: `${detail}; ${rec.stdout.trim().split('\n')[0]}` };
  }
  // koffi and naudiodon/speaker: the addon lines above say whether they load.
  return { id, status: 'ok', detail };
}

/** The year must be plausible (TLS certificates are checked against it) and NTP should agree. */
export async function checkClock(ctx: DoctorContext): Promise<CheckResult> {
  const now = ctx.now();
  const ntpFix = 'sudo timedatectl set-ntp true (and let the Pi reach an NTP server; it has no battery-backed clock)';
  if (now.getUTCFullYear() < MIN_SANE_YEAR) {
    return {
      id: 'clock',
      status: 'fail',
      detail: `system clock says ${now.toISOString()}: TLS certificates will look not yet valid`,
      fix: ntpFix,
    };
  }
  const r = await ctx.exec('timedatectl', ['show', '-p', 'NTPSynchronized', '--value']);
  const answer = r.stdout.trim();
  if (r.code === 0 && answer === 'yes') return { id: 'clock', status: 'ok', detail: `${now.toISOString()}, NTP synchronized` };
  if (r.code === 0 && answer === 'no') {
    return { id: 'clock', status: 'warn', detail: `${now.toISOString()}, but NTP is not synchronized yet`, fix: ntpFix };
  }
  return { id: 'clock', status: 'ok', detail: `${now.toISOString()} (plausible; NTP state unknown: timedatectl unavailable)` };
}

/** Parses `systemctl show` output (KEY=value lines). */
export function parseShow(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

/**
 * The last error the service logged, from the journal: the agent's own JSON error lines first
 * (`start-failed` and the like), else systemd's line about the failure. Undefined when the
 * journal has none or cannot be read by this user.
 */
export async function lastJournalError(ctx: DoctorContext, unit: string): Promise<string | undefined> {
  const r = await ctx.exec('journalctl', ['-u', unit, '-n', '200', '-o', 'cat', '--no-pager', '-q']);
  if (r.code !== 0) return undefined;
  const lines = r.stdout.split('\n').filter((l) => l.trim());
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!;
    if (!line.startsWith('{')) continue;
    try {
      const j = JSON.parse(line) as { level?: string; event?: string; error?: unknown; message?: unknown };
      if (j.level === 'error' || j.level === 'fatal') {
        const why = typeof j.error === 'string' ? j.error : typeof j.message === 'string' ? j.message : '';
        return `${j.event ?? 'error'}${why ? `: ${why}` : ''}`;
      }
    } catch {
      // not one of the agent's lines
    }
  }
  const plain = [...lines].reverse().find((l) => /error|failed|speaker-agent: /i.test(l) && !l.startsWith('{'));
  return plain?.trim();
}

/** The service's state as systemd sees it, with the agent's own STATUS= line. */
export async function checkService(ctx: DoctorContext, unit = 'speaker-agent'): Promise<CheckResult> {
  const id = 'service';
  const r = await ctx.exec('systemctl', ['show', unit, '-p', 'LoadState,ActiveState,SubState,Result,UnitFileState,NRestarts,StatusText']);
  if (r.code !== 0) return { id, status: 'skip', detail: 'systemd is not running here (a container or build machine)' };
  const s = parseShow(r.stdout);
  const logs = `journalctl -u ${unit} -n 50 --no-pager`;
  if (s.LoadState === 'not-found') return { id, status: 'warn', detail: `${unit}.service is not installed`, fix: 'sudo scripts/install.sh' };
  const status = s.StatusText ? `, status: ${s.StatusText}` : '';
  const restarts = Number(s.NRestarts) > 0 ? `, restarted ${s.NRestarts} times` : '';
  const journal = async () => {
    const e = await lastJournalError(ctx, unit);
    return e ? `; last error: ${e}` : '; the journal is not readable here (run with sudo to see the last error)';
  };
  // Between two attempts of a unit that keeps failing, systemd shows it as activating.
  if (s.SubState === 'auto-restart' || (s.ActiveState === 'activating' && Number(s.NRestarts) >= 2)) {
    return {
      id,
      status: 'fail',
      detail: `restarting in a loop (${s.NRestarts} restarts${s.Result && s.Result !== 'success' ? `, last result ${s.Result}` : ''})${await journal()}`,
      fix: `fix that error (${logs}), then: sudo systemctl restart ${unit}`,
    };
  }
  switch (s.ActiveState) {
    case 'active':
      return { id, status: 'ok', detail: `${s.ActiveState} (${s.SubState})${status}${restarts}` };
    case 'activating':
    case 'reloading':
      return { id, status: 'warn', detail: `starting${status}${restarts}`, fix: `wait a few seconds; if it stays so, see ${logs}` };
    case 'failed': {
      const why: Record<string, string> = {
        watchdog: 'the main loop stopped answering the watchdog',
        'start-limit-hit': 'it failed too often in a row and systemd gave up',
        timeout: 'it did not become ready in time',
        'exit-code': 'it exited with an error',
        signal: 'it was killed by a signal',
        'core-dump': 'it crashed',
      };
      return {
        id,
        status: 'fail',
        detail: `failed: ${why[s.Result ?? ''] ?? s.Result}${status}${await journal()}`,
        fix: `${logs}; after fixing: sudo systemctl reset-failed ${unit} && sudo systemctl start ${unit}`,
      };
    }
    default: {
      const enabled = s.UnitFileState === 'enabled';
      return {
        id,
        status: 'warn',
        detail: `${s.ActiveState ?? 'unknown'}${enabled ? '' : ' and not enabled at boot'}`,
        fix: enabled ? `sudo systemctl start ${unit}` : `sudo systemctl enable --now ${unit}`,
      };
    }
  }
}
