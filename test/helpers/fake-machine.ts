/** A scripted machine for doctor checks: files, directories and device nodes held in maps. */
import type { AddonLoad, DeviceStat, DoctorContext, PorcupineModule } from '../../src/doctor/types.js';

function errno(code: string, file: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${file}`), { code });
}

export interface FakeNode {
  mode: number;
  uid?: number;
  gid?: number;
  char?: boolean;
}

export interface FakeMachine {
  files?: Record<string, string | Error>;
  /** Device nodes by path (`/dev/snd/pcmC0D0c`); their directories are listed automatically. */
  devices?: Record<string, FakeNode>;
  /** File modes for `stat` of regular files (default 0o600). */
  modes?: Record<string, number>;
  addons?: Record<string, AddonLoad>;
  exec?: Record<string, { code: number; stdout: string }>;
  porcupine?: PorcupineModule | Error;
}

export const PASSWD = 'root:x:0:0:root:/root:/bin/bash\nspeaker-agent:x:998:998::/var/lib/speaker-agent:/usr/sbin/nologin\n';
export const GROUP_OK = 'root:x:0:\naudio:x:29:speaker-agent\ngpio:x:993:speaker-agent\nspi:x:994:speaker-agent\nspeaker-agent:x:998:\n';

export function fakeContext(m: FakeMachine = {}, over: Partial<DoctorContext> = {}): DoctorContext {
  const files: Record<string, string | Error> = { '/etc/passwd': PASSWD, '/etc/group': GROUP_OK, ...m.files };
  const devices = m.devices ?? {};
  return {
    env: {},
    fs: {
      readText(file) {
        const v = files[file];
        if (v === undefined) throw errno('ENOENT', file);
        if (v instanceof Error) throw v;
        return v;
      },
      readdir(dir) {
        const names = Object.keys(devices)
          .filter((p) => p.startsWith(dir + '/') && !p.slice(dir.length + 1).includes('/'))
          .map((p) => p.slice(dir.length + 1));
        if (dir === '/dev' && Object.keys(devices).some((p) => p.startsWith('/dev/snd/'))) names.push('snd');
        if (names.length === 0 && dir !== '/dev') throw errno('ENOENT', dir);
        return names;
      },
      stat(file): DeviceStat {
        const d = devices[file];
        if (d) return { mode: d.mode, uid: d.uid ?? 0, gid: d.gid ?? 0, isCharacterDevice: () => d.char ?? true };
        if (files[file] === undefined) throw errno('ENOENT', file);
        return { mode: m.modes?.[file] ?? 0o600, uid: 0, gid: 0, isCharacterDevice: () => false };
      },
    },
    nodeVersion: '20.19.0',
    now: () => new Date('2026-05-01T12:00:00Z'),
    loadAddon: async (name) => m.addons?.[name] ?? { status: 'ok' },
    exec: async (cmd, args) => m.exec?.[[cmd, ...args].join(' ')] ?? { code: 127, stdout: '' },
    importPorcupine: async () => {
      if (!m.porcupine) throw new Error('Cannot find module @picovoice/porcupine-node');
      if (m.porcupine instanceof Error) throw m.porcupine;
      return m.porcupine;
    },
    serviceUser: 'speaker-agent',
    appDir: '/opt/speaker-agent',
    credentialsDir: '/etc/speaker-agent/credentials',
    networkTimeoutMs: 2000,
    ...over,
  };
}

export { errno };
