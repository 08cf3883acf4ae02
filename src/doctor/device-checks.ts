/** Checks of the hardware: board, sound cards, GPIO, SPI, the service user's groups and device access. */
import type { Config } from '../config/schema.js';
import { canReadWrite, findAccount, groupName, parseGroups, type Account } from './users.js';
import type { CheckResult, DoctorContext } from './types.js';

/** Groups the service user needs (Raspberry Pi OS grants device access through them). */
export const REQUIRED_GROUPS = ['audio', 'gpio', 'spi'];

const BOOT_CONFIG = '/boot/firmware/config.txt (Bookworm and later; /boot/config.txt on older images)';

function errno(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? String(err);
}

function tryText(ctx: DoctorContext, file: string): string | undefined {
  try {
    return ctx.fs.readText(file);
  } catch {
    return undefined;
  }
}

function tryReaddir(ctx: DoctorContext, dir: string): string[] {
  try {
    return ctx.fs.readdir(dir);
  } catch {
    return [];
  }
}

const usesAlsa = (c: Config | undefined) => !!c && (c.audio.mic.startsWith('alsa') || c.audio.speaker.startsWith('alsa'));
const usesGpio = (c: Config | undefined) => !!c && c.gpio.driver !== 'none';

/** The board model from the device tree; tells a Pi 5 (no rpio) from older ones. */
export function checkBoard(ctx: DoctorContext, config: Config | undefined): CheckResult {
  const model = tryText(ctx, '/proc/device-tree/model')?.replace(/\0/g, '').trim();
  if (!model) return { id: 'board', status: 'skip', detail: 'not a Raspberry Pi (no /proc/device-tree/model)' };
  if (/Raspberry Pi 5/.test(model) && (config?.gpio.driver as string | undefined) === 'rpio') {
    return {
      id: 'board',
      status: 'fail',
      detail: `${model}: rpio cannot drive the Pi 5's RP1 GPIO`,
      fix: 'use the GPIO character-device driver in gpio.driver (see docs for your HAT)',
    };
  }
  return { id: 'board', status: 'ok', detail: model };
}

/** Card ids from /proc/asound/cards, e.g. `seeed2micvoicec`. */
export function parseCards(text: string): string[] {
  return [...text.matchAll(/^\s*\d+\s+\[([^\]\s]+)\s*\]/gm)].map((m) => m[1]!);
}

/** The card an `alsa:` spec names, when it names one by id (`alsa:plughw:CARD=x,DEV=0`, `alsa:hw:x`). */
export function cardOfSpec(spec: string): string | undefined {
  const m = /CARD=([A-Za-z_][\w-]*)/.exec(spec) ?? /^alsa:(?:plug)?hw:([A-Za-z_][\w-]*)/.exec(spec);
  return m?.[1];
}

/** ALSA PCM names every system has; `alsa:NAME` with one of these names no card. */
const STANDARD_PCMS = /^(default|sysdefault|dmix|dsnoop|plug|pulse|pipewire|null|(plug)?hw(:.*)?|(sysdefault|dmix|dsnoop):.*)$/;

/**
 * For `alsa:NAME` where NAME is a card-name fragment or index (how the ALSA drivers look cards
 * up): the problem when no card matches, else undefined. A custom PCM from asound.conf also
 * lands here, hence only a warning.
 */
export function unmatchedCardName(spec: string, cards: string[], cardsText: string): string | undefined {
  if (!spec.startsWith('alsa:')) return undefined;
  const name = spec.slice('alsa:'.length);
  if (!name || STANDARD_PCMS.test(name) || cardOfSpec(spec)) return undefined;
  if (/^\d+$/.test(name)) return Number(name) < cards.length ? undefined : `${spec}: there is no card ${name}`;
  return cardsText.toLowerCase().includes(name.toLowerCase()) ? undefined : `${spec} matches no sound card`;
}

export function checkAudio(ctx: DoctorContext, config: Config | undefined): CheckResult {
  const needed = usesAlsa(config);
  const noCardFix =
    `seat the HAT, add the overlay lines \`sudo scripts/install.sh --hardware NAME\` prints to ${BOOT_CONFIG}, ` +
    'reboot, then `aplay -l` and `arecord -l` must list the card (a USB microphone needs no overlay)';
  const cardsText = tryText(ctx, '/proc/asound/cards');
  const cards = cardsText ? parseCards(cardsText) : [];
  if (cards.length === 0) {
    const why = cardsText === undefined ? 'no ALSA sound support (/proc/asound/cards missing)' : 'no sound card found (/proc/asound/cards is empty)';
    if (!needed) return { id: 'audio', status: 'skip', detail: `${why}; not needed (audio uses wav: files)` };
    return { id: 'audio', status: 'fail', detail: why, fix: noCardFix };
  }
  const nodes = tryReaddir(ctx, '/dev/snd');
  const capture = nodes.filter((n) => /^pcmC\d+D\d+c$/.test(n));
  const playback = nodes.filter((n) => /^pcmC\d+D\d+p$/.test(n));
  const found = `cards: ${cards.join(', ')}; ${capture.length} capture and ${playback.length} playback devices`;
  if (needed && config) {
    for (const spec of [config.audio.mic, config.audio.speaker]) {
      const card = cardOfSpec(spec);
      if (card && !cards.includes(card)) {
        return { id: 'audio', status: 'fail', detail: `${spec} names card "${card}", which is not present (${found})`, fix: `use one of: ${cards.join(', ')}, or fix the HAT driver` };
      }
    }
    if (config.audio.mic.startsWith('alsa') && capture.length === 0) {
      return { id: 'audio', status: 'fail', detail: `no capture device in /dev/snd (${found})`, fix: noCardFix };
    }
    if (config.audio.speaker.startsWith('alsa') && playback.length === 0) {
      return { id: 'audio', status: 'fail', detail: `no playback device in /dev/snd (${found})`, fix: noCardFix };
    }
    const unmatched = [config.audio.mic, config.audio.speaker].map((spec) => unmatchedCardName(spec, cards, cardsText ?? '')).find(Boolean);
    if (unmatched) {
      return { id: 'audio', status: 'warn', detail: `${unmatched} (${found})`, fix: `use a card from \`arecord -l\` / \`aplay -l\` (${cards.join(', ')}); ignore this if it is a PCM you defined in asound.conf` };
    }
  }
  return { id: 'audio', status: 'ok', detail: found };
}

/** The service account exists and is in audio, gpio and spi. */
export function checkGroups(ctx: DoctorContext): { result: CheckResult; account?: Account } {
  let account: Account | undefined;
  let groupsText = '';
  try {
    account = findAccount(ctx.fs, ctx.serviceUser);
    groupsText = ctx.fs.readText('/etc/group');
  } catch (err) {
    return { result: { id: 'groups', status: 'fail', detail: `cannot read /etc/passwd or /etc/group (${errno(err)})` } };
  }
  if (!account) {
    return {
      result: { id: 'groups', status: 'fail', detail: `user ${ctx.serviceUser} does not exist`, fix: 'run `sudo scripts/install.sh` (it creates the service user)' },
    };
  }
  if (account.uid === 0) return { account, result: { id: 'groups', status: 'ok', detail: 'root: device access does not depend on groups' } };
  const existing = new Set(parseGroups(groupsText).map((g) => g.name));
  const missing = REQUIRED_GROUPS.filter((g) => existing.has(g) && !account.groups.includes(g));
  const absent = REQUIRED_GROUPS.filter((g) => !existing.has(g));
  const who = `${account.name} is in ${account.groups.join(', ') || 'no groups'}`;
  if (missing.length > 0) {
    return {
      account,
      result: {
        id: 'groups',
        status: 'fail',
        detail: `${who}; missing ${missing.join(', ')}`,
        fix: `sudo usermod -aG ${missing.join(',')} ${account.name} && sudo systemctl restart speaker-agent`,
      },
    };
  }
  if (absent.length > 0) {
    return {
      account,
      result: {
        id: 'groups',
        status: 'fail',
        detail: `${who}; group ${absent.join(', ')} does not exist, and the service cannot start without it (SupplementaryGroups=)`,
        fix: 'run `sudo scripts/install.sh` again (it creates missing groups); Raspberry Pi OS has them already',
      },
    };
  }
  return { account, result: { id: 'groups', status: 'ok', detail: who } };
}

/** Device nodes the agent may open: sound, GPIO (character device and gpiomem), SPI and I2C. */
export function deviceNodes(ctx: DoctorContext): string[] {
  const snd = tryReaddir(ctx, '/dev/snd').map((n) => `/dev/snd/${n}`);
  const dev = tryReaddir(ctx, '/dev')
    .filter((n) => /^(gpiomem\d*|gpiochip\d+|spidev\d+\.\d+|i2c-\d+)$/.test(n))
    .map((n) => `/dev/${n}`);
  return [...snd, ...dev].sort();
}

/** The service user can read and write every device node the agent may open. */
export function checkDeviceAccess(ctx: DoctorContext, account: Account | undefined): CheckResult {
  if (!account) return { id: 'device access', status: 'skip', detail: `no user ${ctx.serviceUser} to check for` };
  const groups = parseGroups(tryText(ctx, '/etc/group') ?? '');
  const denied: { node: string; group: string }[] = [];
  let checked = 0;
  for (const node of deviceNodes(ctx)) {
    let st;
    try {
      st = ctx.fs.stat(node);
    } catch {
      continue;
    }
    if (!st.isCharacterDevice()) continue;
    checked++;
    if (!canReadWrite(account, st, groups)) denied.push({ node, group: groupName(groups, st.gid) });
  }
  if (checked === 0) return { id: 'device access', status: 'skip', detail: 'no sound, GPIO, SPI or I2C device nodes present' };
  if (denied.length === 0) return { id: 'device access', status: 'ok', detail: `${account.name} can use all ${checked} device nodes` };
  const need = [...new Set(denied.map((d) => d.group))];
  return {
    id: 'device access',
    status: 'fail',
    detail: `${account.name} cannot open ${denied.map((d) => `${d.node} (group ${d.group})`).join(', ')}`,
    fix: `sudo usermod -aG ${need.join(',')} ${account.name} && sudo systemctl restart speaker-agent`,
  };
}

export function checkGpio(ctx: DoctorContext, config: Config | undefined): CheckResult {
  const nodes = deviceNodes(ctx).filter((n) => /gpiochip|gpiomem/.test(n));
  if (nodes.length > 0) return { id: 'gpio', status: 'ok', detail: nodes.join(', ') };
  if (!usesGpio(config)) return { id: 'gpio', status: 'skip', detail: 'no /dev/gpiochip* or /dev/gpiomem; not needed (gpio.driver: none)' };
  return {
    id: 'gpio',
    status: 'fail',
    detail: `no /dev/gpiochip* or /dev/gpiomem, but gpio.driver is ${config!.gpio.driver}`,
    fix: 'every Raspberry Pi kernel provides them: update the OS (sudo apt full-upgrade); on other machines set gpio.driver: none',
  };
}

export function checkSpi(ctx: DoctorContext, config: Config | undefined): CheckResult {
  const nodes = deviceNodes(ctx).filter((n) => n.includes('spidev'));
  if (nodes.length > 0) return { id: 'spi', status: 'ok', detail: nodes.join(', ') };
  const fix = `add \`dtparam=spi=on\` to ${BOOT_CONFIG} and reboot`;
  if (!usesGpio(config)) return { id: 'spi', status: 'skip', detail: 'no /dev/spidev*; only needed for APA102 LEDs (ReSpeaker HATs)' };
  return { id: 'spi', status: 'warn', detail: 'no /dev/spidev*: APA102 LEDs (ReSpeaker HATs) will stay dark', fix };
}
