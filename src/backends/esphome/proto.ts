/**
 * The ESPHome API's messages, from the vendored upstream protocol definition (proto/esphome/,
 * see its header) through protobufjs. Each message's `(id)` option is its type number on the
 * wire; fields keep the proto's snake_case names, as Home Assistant's client uses them.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

export type Fields = Record<string, unknown>;

/** Type numbers of the messages the server handles itself or that the current proto no longer names. */
export const MSG = {
  HelloRequest: 1,
  HelloResponse: 2,
  /** Password login: gone from current ESPHome, still sent by older clients (empty password). */
  AuthenticationRequest: 3,
  AuthenticationResponse: 4,
  DisconnectRequest: 5,
  DisconnectResponse: 6,
  PingRequest: 7,
  PingResponse: 8,
} as const;

/** Finds `proto/esphome` by walking up to the package root (works from src/ and dist/src/). */
function findProtoDir(from: string): string {
  let dir = from;
  for (;;) {
    const candidate = path.join(dir, 'proto', 'esphome');
    if (existsSync(path.join(candidate, 'api.proto')) && existsSync(path.join(dir, 'package.json'))) return candidate;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`proto/esphome/api.proto not found above ${from}: the installation is incomplete`);
    dir = up;
  }
}

export class ApiMessages {
  readonly #byId = new Map<number, protobuf.Type>();
  readonly #idByName = new Map<string, number>();
  readonly root: protobuf.Root;

  private constructor(root: protobuf.Root) {
    this.root = root;
    for (const t of root.nestedArray) {
      if (!(t instanceof protobuf.Type)) continue;
      const id = t.options?.['(id)'] as number | undefined;
      if (typeof id === 'number' && id > 0) {
        this.#byId.set(id, t);
        this.#idByName.set(t.name, id);
      }
    }
  }

  static #cached: ApiMessages | undefined;

  /** Parses the proto files once per process (a few ms); later calls return the same table. */
  static load(): ApiMessages {
    if (ApiMessages.#cached) return ApiMessages.#cached;
    const dir = findProtoDir(path.dirname(fileURLToPath(import.meta.url)));
    const root = new protobuf.Root();
    // api_options.proto imports google's descriptor.proto: protobufjs ships a copy.
    const descriptor = createRequire(import.meta.url).resolve('protobufjs/google/protobuf/descriptor.proto');
    root.resolvePath = (origin, target) =>
      target === 'google/protobuf/descriptor.proto' ? descriptor : path.resolve(origin ? path.dirname(origin) : dir, target);
    root.loadSync(path.join(dir, 'api.proto'), { keepCase: true });
    root.resolveAll();
    return (ApiMessages.#cached = new ApiMessages(root));
  }

  /** Number of message types known by id. */
  get size(): number {
    return this.#byId.size;
  }

  nameOf(type: number): string | undefined {
    return this.#byId.get(type)?.name;
  }

  idOf(name: string): number {
    const id = this.#idByName.get(name);
    if (id === undefined) throw new Error(`unknown ESPHome API message ${name}`);
    return id;
  }

  /**
   * Decodes a payload of a known type into plain fields (enums and 64-bit numbers as numbers,
   * absent fields at their defaults). Unknown types give undefined; a malformed payload throws.
   */
  decode(type: number, payload: Buffer): { name: string; fields: Fields } | undefined {
    const t = this.#byId.get(type);
    if (!t) return undefined;
    const msg = t.decode(payload);
    return { name: t.name, fields: t.toObject(msg, { longs: Number, enums: Number, defaults: true, arrays: true }) as Fields };
  }

  encode(name: string, fields: Fields = {}): { type: number; payload: Buffer } {
    const type = this.idOf(name);
    const t = this.#byId.get(type)!;
    const problem = t.verify(fields);
    if (problem) throw new Error(`${name}: ${problem}`);
    return { type, payload: Buffer.from(t.encode(t.fromObject(fields)).finish()) };
  }
}
