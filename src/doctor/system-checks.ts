/** Checks of the runtime: Node.js version, native addons, the clock. */
import type { Config } from '../config/schema.js';
import type { CheckResult, DoctorContext } from './types.js';

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

/** Native addons and when the configuration needs each one. */
export const ADDONS: {
  name: string;
  purpose: string;
  /** Whether this configuration on this board (device-tree model, if any) loads the addon. */
  needed: (c: Config | undefined, model: string) => boolean;
  /** What a crash while loading usually means for this addon. */
  crashHint?: { detail: string; fix: string };
}[] = [
  { name: 'naudiodon', purpose: 'microphone capture for alsa: mics', needed: (c) => !!c && c.audio.mic.startsWith('alsa') },
  {
    name: 'speaker',
    purpose: 'playback for alsa: speakers',
    needed: (c) => !!c && c.audio.speaker.startsWith('alsa'),
    // speaker opens ALSA's default playback device while loading, and mpg123 then trips an
    // assertion when there is none: the whole process aborts.
    crashHint: {
      detail: 'aborts while loading because ALSA has no default playback device',
      fix: '`aplay -l` must list a card; make it the default (e.g. `defaults.pcm.card 1` in /etc/asound.conf)',
    },
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
    purpose: 'echo cancellation (audio.echoCancel speex, with libspeexdsp1)',
    needed: (c) => (c?.audio as { echoCancel?: string } | undefined)?.echoCancel === 'speex',
  },
];

function rebuildFix(ctx: DoctorContext, name: string): string {
  return `sudo apt-get install -y build-essential python3 libasound2-dev && cd ${ctx.appDir} && sudo npm rebuild ${name}`;
}

/** Loads every addon (each in its own child process); one result per addon. */
export async function checkAddons(ctx: DoctorContext, config: Config | undefined): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  let model = '';
  try {
    model = ctx.fs.readText('/proc/device-tree/model').replace(/\0/g, '');
  } catch {
    // not a Pi: boards only matter for rpio
  }
  for (const addon of ADDONS) {
    const id = `addon ${addon.name}`;
    const needed = addon.needed(config, model);
    const load = await ctx.loadAddon(addon.name);
    if (load.status === 'ok') {
      results.push({ id, status: 'ok', detail: `loads; used for ${addon.purpose}` });
    } else if (load.status === 'missing') {
      results.push({
        id,
        status: needed ? 'fail' : 'skip',
        detail: needed ? `not installed, but needed for ${addon.purpose}` : `not installed; only needed for ${addon.purpose}`,
        fix: needed ? `cd ${ctx.appDir} && sudo npm ci --omit=dev (optional dependencies are built there)` : undefined,
      });
    } else {
      const abi = /NODE_MODULE_VERSION|was compiled against a different Node\.js version/.test(load.message);
      if (load.code === 'SIGNAL' && addon.crashHint) {
        results.push({ id, status: needed ? 'fail' : 'warn', detail: `${addon.crashHint.detail} (${load.message})`, fix: addon.crashHint.fix });
        continue;
      }
      results.push({
        id,
        status: needed ? 'fail' : 'warn',
        detail: abi ? `built for another Node.js version; used for ${addon.purpose}` : `fails to load: ${load.message}; used for ${addon.purpose}`,
        fix: abi ? `cd ${ctx.appDir} && sudo npm rebuild ${addon.name}` : rebuildFix(ctx, addon.name),
      });
    }
  }
  return results;
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
        detail: `failed: ${why[s.Result ?? ''] ?? s.Result}${status}`,
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
