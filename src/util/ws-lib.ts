/**
 * The `ws` library, loaded with `require`. ws is CommonJS; importing it from an ES module sends
 * each of its files through Node's ES-module loader (its wrapper.mjs imports them one by one, and
 * each is lexed for its exports): 74 against 25 ms of CPU for ws alone in a fresh process (5
 * starts each, under load; docs/benchmarks.md). Import `WebSocket` and `WebSocketServer` from here,
 * not from 'ws' (types may still come from 'ws': they load nothing).
 */
import { createRequire } from 'node:module';
import type * as WsModule from 'ws';
import type WS from 'ws';

const ws = createRequire(import.meta.url)('ws') as typeof WS & { WebSocketServer: typeof WsModule.WebSocketServer };

export const WebSocket = ws;
export type WebSocket = WS;
// The types that call sites name as `WebSocket.X`.
// eslint-disable-next-line @typescript-eslint/no-namespace
export declare namespace WebSocket {
  type RawData = WS.RawData;
  type ClientOptions = WS.ClientOptions;
}

export const WebSocketServer = ws.WebSocketServer;
export type WebSocketServer = WsModule.WebSocketServer;
