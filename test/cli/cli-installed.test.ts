/** The CLI finds the installed service's config and control socket without flags. */
import { describe, expect, it } from 'vitest';
import { installedConfigState, installedSocket } from '../../src/cli/installed.js';

const errno = (code: string) => Object.assign(new Error(code), { code });
/** A machine where `paths` maps each existing path to 'ok' or the errno its stat throws. */
const statOn = (paths: Record<string, 'ok' | string>) => (file: string) => {
  const v = paths[file];
  if (v === undefined) throw errno('ENOENT');
  if (v !== 'ok') throw errno(v);
  return {};
};

describe('installed agent', () => {
  it('tells an unreadable installed config (a user outside the group) from an absent one', () => {
    expect(installedConfigState('/etc/speaker-agent/config.yaml', statOn({ '/etc/speaker-agent/config.yaml': 'ok' }))).toBe('readable');
    expect(installedConfigState('/etc/speaker-agent/config.yaml', statOn({ '/etc/speaker-agent/config.yaml': 'EACCES' }))).toBe('unreadable');
    expect(installedConfigState('/etc/speaker-agent/config.yaml', statOn({}))).toBe('absent');
  });

  it("uses the service's socket: from its config when readable, else its runtime directory", () => {
    const cfg = '/etc/speaker-agent/config.yaml';
    const read = () => ({ control: { socket: '/run/custom/agent.sock' } });
    expect(installedSocket({ stat: statOn({ [cfg]: 'ok', '/run/speaker-agent': 'ok' }), read })).toBe('/run/custom/agent.sock');
    expect(installedSocket({ stat: statOn({ [cfg]: 'ok', '/run/speaker-agent': 'ok' }), read: () => ({}) })).toBe('/run/speaker-agent/control.sock');
    // Not in the group: the config cannot be read, the runtime directory is still there.
    expect(installedSocket({ stat: statOn({ [cfg]: 'EACCES', '/run/speaker-agent': 'ok' }), read })).toBe('/run/speaker-agent/control.sock');
    // Installed but stopped (no runtime directory): still the service's path.
    expect(installedSocket({ stat: statOn({ [cfg]: 'EACCES' }), read })).toBe('/run/speaker-agent/control.sock');
    expect(installedSocket({ stat: statOn({}), read })).toBeUndefined();
  });

});
