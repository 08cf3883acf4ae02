/** A real AF_UNIX datagram socket standing in for systemd's NOTIFY_SOCKET (via python3). */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'notify-receiver.py');

export interface Datagram {
  message: string;
  fds: number;
  pid: number | null;
}

export class NotifyReceiver {
  readonly messages: Datagram[] = [];
  #waiters: { match: (d: Datagram) => boolean; resolve: (d: Datagram) => void }[] = [];
  #seen = 0;

  private constructor(
    readonly path: string,
    private readonly child: ChildProcess,
  ) {}

  static async start(socketPath: string): Promise<NotifyReceiver> {
    const child = spawn('python3', [SCRIPT, socketPath], { stdio: ['ignore', 'pipe', 'inherit'] });
    const lines = createInterface({ input: child.stdout! });
    let receiver: NotifyReceiver | undefined;
    await new Promise<void>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`notify receiver exited early (${code})`)));
      lines.on('line', (line) => {
        const obj = JSON.parse(line) as Partial<Datagram> & { bound?: string };
        if (obj.bound) {
          receiver = new NotifyReceiver(socketPath, child);
          resolve();
        } else receiver?.push(obj as Datagram);
      });
    });
    return receiver!;
  }

  /** Messages other than systemd-notify's own BARRIER=1 handshake. */
  payloads(): string[] {
    return this.messages.map((m) => m.message).filter((m) => m !== 'BARRIER=1');
  }

  private push(d: Datagram): void {
    this.messages.push(d);
    this.#waiters = this.#waiters.filter((w) => {
      if (!w.match(d)) return true;
      w.resolve(d);
      return false;
    });
  }

  /** Resolves with the next datagram (not yet returned by `next`) whose text satisfies `match`. */
  next(match: (text: string) => boolean, timeoutMs = 15_000): Promise<Datagram> {
    for (let i = this.#seen; i < this.messages.length; i++) {
      const d = this.messages[i]!;
      if (match(d.message)) {
        this.#seen = i + 1;
        return Promise.resolve(d);
      }
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching notify message; got ${JSON.stringify(this.payloads())}`)), timeoutMs);
      this.#waiters.push({
        match: (d) => match(d.message),
        resolve: (d) => {
          clearTimeout(timer);
          this.#seen = this.messages.indexOf(d) + 1;
          resolve(d);
        },
      });
    });
  }

  stop(): void {
    this.child.kill();
  }
}
