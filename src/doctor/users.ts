/** Accounts and groups from /etc/passwd and /etc/group, and whether one may use a device. */
import type { DeviceStat, DoctorFs } from './types.js';

export interface Account {
  name: string;
  uid: number;
  gid: number;
  /** Names of every group the account is in, its primary group included. */
  groups: string[];
}

export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

export function parseGroups(text: string): GroupEntry[] {
  return text
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split(':'))
    .filter((f) => f.length >= 4)
    .map((f) => ({ name: f[0]!, gid: Number(f[2]), members: f[3]!.split(',').filter(Boolean) }));
}

/** Looks `name` up; undefined when there is no such account. */
export function findAccount(fs: DoctorFs, name: string): Account | undefined {
  const line = fs
    .readText('/etc/passwd')
    .split('\n')
    .map((l) => l.split(':'))
    .find((f) => f[0] === name && f.length >= 4);
  if (!line) return undefined;
  const uid = Number(line[2]);
  const gid = Number(line[3]);
  const groups = parseGroups(fs.readText('/etc/group'));
  const names = groups.filter((g) => g.gid === gid || g.members.includes(name)).map((g) => g.name);
  return { name, uid, gid, groups: [...new Set(names)] };
}

/** Group name for a gid, or the number as text. */
export function groupName(groups: GroupEntry[], gid: number): string {
  return groups.find((g) => g.gid === gid)?.name ?? String(gid);
}

/** True when `account` may read and write a file with this owner and mode (root may always). */
export function canReadWrite(account: Account, st: DeviceStat, groups: GroupEntry[]): boolean {
  if (account.uid === 0) return true;
  const rw = (shift: number) => ((st.mode >> shift) & 0o6) === 0o6;
  if (st.uid === account.uid) return rw(6);
  if (account.groups.includes(groupName(groups, st.gid)) || st.gid === account.gid) return rw(3);
  return rw(0);
}
