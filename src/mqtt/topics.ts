/**
 * The MQTT topics of one speaker and the Home Assistant discovery configs that describe them.
 * Pure functions: no client, no session. docs/mqtt.md lists every topic and payload.
 *
 * Layout: `<prefix>/<deviceId>/<name>` carries a state (retained), `<prefix>/<deviceId>/<name>/set`
 * takes a command (never retained), `<prefix>/<deviceId>/availability` is `online`/`offline`
 * (retained; `offline` is also the last will). Discovery configs are retained under
 * `<discoveryPrefix>/<component>/<nodeId>/<object>/config`.
 */
import type { Phase } from '../core/state.js';
import type { LedState } from '../ports/gpio.js';

export const ONLINE = 'online';
export const OFFLINE = 'offline';
export const ON = 'ON';
export const OFF = 'OFF';
export const PRESS = 'PRESS';

/** Every phase the `state` sensor can report (state.ts `Phase['kind']`). */
export const PHASES: readonly Phase['kind'][] = ['idle', 'listening', 'thinking', 'speaking', 'settling', 'ringing'];
/** Every value the `led` sensor can report (ports/gpio.ts `LedState`). */
export const LED_STATES: readonly LedState[] = ['off', 'idle', 'listening', 'follow-up', 'thinking', 'speaking', 'muted', 'error', 'disconnected', 'timer', 'ringing'];

/** Commands a speaker accepts, each on `<base>/<name>/set`. */
export const COMMANDS = ['listen', 'stop', 'say', 'mute', 'volume'] as const;
export type CommandName = (typeof COMMANDS)[number];

export interface Topics {
  /** `<prefix>/<deviceId>`. */
  base: string;
  availability: string;
  /** Conversation phase (`idle`, `listening`, ...). */
  state: string;
  led: string;
  /** Backend connection, `ON`/`OFF`. */
  connected: string;
  /** Microphone muted, `ON`/`OFF`. */
  mute: string;
  /** Speaker volume, 0-100. */
  volume: string;
  /** Last error as JSON. */
  error: string;
  /** Opt-in: last final transcript / reply text as JSON. */
  transcript: string;
  reply: string;
  /** One subscription for every command of this speaker: `<base>/+/set`. */
  commandFilter: string;
  command(name: CommandName): string;
  /** Home Assistant's birth/last-will topic: `online` there means "send your discovery again". */
  haStatus: string;
}

export function topicsFor(prefix: string, deviceId: string, discoveryPrefix: string): Topics {
  const base = `${prefix}/${deviceId}`;
  return {
    base,
    availability: `${base}/availability`,
    state: `${base}/state`,
    led: `${base}/led`,
    connected: `${base}/connected`,
    mute: `${base}/mute`,
    volume: `${base}/volume`,
    error: `${base}/error`,
    transcript: `${base}/transcript`,
    reply: `${base}/reply`,
    commandFilter: `${base}/+/set`,
    command: (name) => `${base}/${name}/set`,
    haStatus: `${discoveryPrefix}/status`,
  };
}

/** Which command a topic carries, or undefined when it is not one of this speaker's command topics. */
export function commandOf(topics: Topics, topic: string): CommandName | 'unknown' | undefined {
  const head = `${topics.base}/`;
  if (!topic.startsWith(head) || !topic.endsWith('/set')) return undefined;
  const name = topic.slice(head.length, -'/set'.length);
  return (COMMANDS as readonly string[]).includes(name) ? (name as CommandName) : 'unknown';
}

/** The JSON on the `error` topic. `code: null` means no error since the agent started. */
export interface ErrorPayload {
  code: string | null;
  message: string;
  at: string | null;
}

/** The JSON on the `transcript` and `reply` topics. */
export interface TextPayload {
  text: string;
  turnId: string | null;
  at: string;
}

export interface DiscoveryOptions {
  topics: Topics;
  discoveryPrefix: string;
  deviceId: string;
  /** Device name in Home Assistant. */
  name: string;
  swVersion: string;
  qos: 0 | 1;
  /** Longest `say` text accepted (Home Assistant's text entity allows at most 255). */
  maxSayChars: number;
  publishTranscripts: boolean;
}

/** One retained discovery message; `payload` undefined means "remove": an empty retained message. */
export interface DiscoveryMessage {
  topic: string;
  entity: string;
  payload: Record<string, unknown> | undefined;
}

type Component = 'sensor' | 'binary_sensor' | 'switch' | 'number' | 'button' | 'text';

interface EntitySpec {
  key: string;
  component: Component;
  /** Opt-in entities are published only with `publishTranscripts`, removed otherwise. */
  optIn?: boolean;
  config: (o: DiscoveryOptions) => Record<string, unknown>;
}

/** Home Assistant limits a sensor's state to 255 characters: the templates cut longer texts there. */
const ENTITIES: EntitySpec[] = [
  {
    key: 'state',
    component: 'sensor',
    config: (o) => ({ name: 'State', icon: 'mdi:account-voice', state_topic: o.topics.state, device_class: 'enum', options: [...PHASES] }),
  },
  {
    key: 'led',
    component: 'sensor',
    config: (o) => ({ name: 'LED', icon: 'mdi:led-on', state_topic: o.topics.led, device_class: 'enum', options: [...LED_STATES], entity_category: 'diagnostic' }),
  },
  {
    key: 'connected',
    component: 'binary_sensor',
    config: (o) => ({ name: 'Backend', state_topic: o.topics.connected, payload_on: ON, payload_off: OFF, device_class: 'connectivity', entity_category: 'diagnostic' }),
  },
  {
    key: 'mute',
    component: 'switch',
    config: (o) => ({ name: 'Mute', icon: 'mdi:microphone-off', state_topic: o.topics.mute, command_topic: o.topics.command('mute'), payload_on: ON, payload_off: OFF }),
  },
  {
    key: 'volume',
    component: 'number',
    config: (o) => ({
      name: 'Volume',
      icon: 'mdi:volume-high',
      state_topic: o.topics.volume,
      command_topic: o.topics.command('volume'),
      min: 0,
      max: 100,
      step: 1,
      mode: 'slider',
      unit_of_measurement: '%',
    }),
  },
  {
    key: 'listen',
    component: 'button',
    config: (o) => ({ name: 'Listen', icon: 'mdi:microphone', command_topic: o.topics.command('listen'), payload_press: PRESS }),
  },
  {
    key: 'stop',
    component: 'button',
    config: (o) => ({ name: 'Stop', icon: 'mdi:stop', command_topic: o.topics.command('stop'), payload_press: PRESS }),
  },
  {
    key: 'say',
    component: 'text',
    // No state topic: what was typed is not echoed back onto the broker.
    config: (o) => ({ name: 'Say', icon: 'mdi:message-text', command_topic: o.topics.command('say'), min: 1, max: Math.min(255, o.maxSayChars), mode: 'text' }),
  },
  {
    key: 'error',
    component: 'sensor',
    config: (o) => ({
      name: 'Last error',
      icon: 'mdi:alert-circle-outline',
      state_topic: o.topics.error,
      value_template: "{{ value_json.message[:255] if value_json.code else 'none' }}",
      json_attributes_topic: o.topics.error,
      entity_category: 'diagnostic',
    }),
  },
  {
    key: 'transcript',
    component: 'sensor',
    optIn: true,
    config: (o) => ({ name: 'Last transcript', icon: 'mdi:text-account', state_topic: o.topics.transcript, value_template: '{{ value_json.text[:255] }}', json_attributes_topic: o.topics.transcript }),
  },
  {
    key: 'reply',
    component: 'sensor',
    optIn: true,
    config: (o) => ({ name: 'Last reply', icon: 'mdi:message-reply-text', state_topic: o.topics.reply, value_template: '{{ value_json.text[:255] }}', json_attributes_topic: o.topics.reply }),
  },
];

/** The discovery node id: one per speaker, so one speaker's configs share a topic level. */
export function nodeId(deviceId: string): string {
  return `speaker-agent_${deviceId}`;
}

/** unique_id of an entity: stable across restarts, unique across a fleet. */
export function uniqueId(deviceId: string, entity: string): string {
  return `speaker_agent_${deviceId}_${entity}`;
}

/**
 * Every discovery message for this speaker, in a stable order. With `enabled` false (discovery
 * off) every config is a removal, so turning discovery off also takes the entities out of Home
 * Assistant; opt-in entities are removals unless transcripts are published.
 */
export function discoveryMessages(o: DiscoveryOptions, enabled = true): DiscoveryMessage[] {
  const device = {
    identifiers: [`speaker_agent_${o.deviceId}`],
    name: o.name,
    manufacturer: 'speaker-agent',
    model: 'speaker-agent voice satellite',
    sw_version: o.swVersion,
  };
  const origin = { name: 'speaker-agent', sw_version: o.swVersion };
  return ENTITIES.map((e) => {
    const topic = `${o.discoveryPrefix}/${e.component}/${nodeId(o.deviceId)}/${e.key}/config`;
    if (!enabled || (e.optIn && !o.publishTranscripts)) return { topic, entity: e.key, payload: undefined };
    return {
      topic,
      entity: e.key,
      payload: {
        ...e.config(o),
        unique_id: uniqueId(o.deviceId, e.key),
        availability_topic: o.topics.availability,
        payload_available: ONLINE,
        payload_not_available: OFFLINE,
        qos: o.qos,
        device,
        origin,
      },
    };
  });
}
