/** A skill HTTP server on loopback whose answer each test scripts. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type SkillHandler = (body: Record<string, unknown>, req: IncomingMessage, res: ServerResponse) => void;

export class FakeSkill {
  readonly requests: { body: Record<string, unknown>; headers: IncomingMessage['headers'] }[] = [];
  url = '';
  #server!: Server;

  constructor(public handler: SkillHandler) {}

  async start(): Promise<this> {
    this.#server = createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (d: Buffer) => parts.push(d));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(parts).toString() || '{}') as Record<string, unknown>;
        this.requests.push({ body, headers: req.headers });
        this.handler(body, req, res);
      });
    });
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/skill`;
    return this;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

/** Answers `{text, followUp}` as JSON. */
export function reply(text: string, followUp?: boolean): SkillHandler {
  return (_body, _req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(followUp === undefined ? { text } : { text, followUp }));
  };
}
