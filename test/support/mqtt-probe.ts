/**
 * Home Assistant's (or an automation's) side of the broker in tests: a real MQTT.js client that
 * records every message it receives and publishes commands.
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { waitFor } from './harness.js';

export interface Received {
  topic: string;
  payload: string;
  retain: boolean;
  at: number;
}

export class Probe {
  readonly messages: Received[] = [];
  /** Last payload per topic (an empty string is a removal). */
  readonly last = new Map<string, string>();

  private constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) => {
      const m = { topic, payload: payload.toString('utf8'), retain: packet.retain, at: Date.now() };
      this.messages.push(m);
      this.last.set(topic, m.payload);
    });
  }

  /** Connects and subscribes to `filters` (default everything). */
  static async connect(url: string, filters: string[] = ['#'], options: IClientOptions = {}): Promise<Probe> {
    const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
    const probe = new Probe(client);
    await client.subscribeAsync(filters, { qos: 1 });
    return probe;
  }

  json(topic: string): Record<string, unknown> {
    const p = this.last.get(topic);
    if (p === undefined) throw new Error(`nothing on ${topic}`);
    return JSON.parse(p) as Record<string, unknown>;
  }

  /** Waits until `topic`'s last payload is `payload`. */
  async waitValue(topic: string, payload: string, timeoutMs = 5000): Promise<void> {
    await waitFor(() => this.last.get(topic) === payload, `${topic} = ${JSON.stringify(payload)} (now ${JSON.stringify(this.last.get(topic))})`, timeoutMs);
  }

  /** Messages on `topic` received so far. */
  on(topic: string): Received[] {
    return this.messages.filter((m) => m.topic === topic);
  }

  async publish(topic: string, payload: string | Buffer, retain = false): Promise<void> {
    await this.client.publishAsync(topic, payload, { qos: 1, retain });
  }

  clear(): void {
    this.messages.length = 0;
    this.last.clear();
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}
