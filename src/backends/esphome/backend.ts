/**
 * The `esphome` backend: the speaker as a Home Assistant voice satellite over the ESPHome native
 * API (docs/backends.md, "esphome"). The agent is the device: Home Assistant connects to it,
 * reads its device info and entities, subscribes to the voice assistant, and from then on the
 * agent's turns run as Home Assistant pipeline runs. This class routes the API's messages: the
 * run itself is `VoiceRun`, announcements are the `Announcer`'s, timers `Timers`'.
 */
import { DisconnectedError } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import type { EsphomeConfig } from '../../config/schema.js';
import type { Backend, BackendEvents, TurnOptions } from '../../ports/backend.js';
import { systemScheduler, type Scheduler } from '../../util/clock.js';
import { TypedEmitter } from '../../util/typed-emitter.js';
import { Announcer, PlaybackWatch } from './announce.js';
import type { ApiConnection } from './connection.js';
import { entityStates, listEntities, MEDIA_PLAYER_KEY, MUTE_SWITCH_KEY, parsePlayerCommand, playerState, type EntityValues } from './entities.js';
import type { HostedBackend, SatelliteHost } from './host.js';
import type { Identity } from './identity.js';
import { advertise, type Advertisement } from './mdns.js';
import { VoiceRun } from './pipeline.js';
import { ApiMessages, type Fields } from './proto.js';
import type { Emit, FetchLimits } from './reply-url.js';
import { ApiServer } from './server.js';
import { Timers } from './timers.js';
import { PreferencesStore } from './preferences.js';
import { WakeWordChoice } from './wake-choice.js';

/** VoiceAssistantFeature bits: the satellite, audio over the API, timers, announcements, start conversation. */
export const VOICE_FEATURES = 1 | 4 | 8 | 16 | 32;
const SUBSCRIBE_API_AUDIO = 1;
/** The ESPHome release whose API this server follows (linux-voice-assistant reports the same). */
const ESPHOME_VERSION = '2025.9.0';
/** Home Assistant forgets a conversation after 5 minutes; so does ESPHome's voice assistant. */
const CONVERSATION_TIMEOUT_MS = 300_000;

export interface EsphomeBackendOptions {
  config: EsphomeConfig;
  /** 32-byte encryption key, or undefined for plaintext. Never logged. */
  psk: Buffer | undefined;
  /** PEM of a private CA for https reply URLs (Home Assistant with its own certificate). */
  ca?: string;
  identity: Identity;
  /** The agent's version, for device info. */
  version: string;
  log: Logger;
  clock?: Scheduler;
  /** Where Home Assistant's choices (the wake word) are kept across restarts; none: not kept. */
  preferencesFile?: string;
}

export class EsphomeBackend extends TypedEmitter<BackendEvents> implements Backend, HostedBackend {
  readonly name = 'esphome';
  readonly #o: EsphomeBackendOptions;
  readonly #log: Logger;
  readonly #clock: Scheduler;
  readonly #server: ApiServer;
  readonly #watch = new PlaybackWatch();
  readonly #announcer: Announcer;
  readonly #timers: Timers;
  readonly #emit: Emit = (event, ...args) => this.emit(event, ...args);
  readonly #fetch: FetchLimits;
  /** Clients that subscribed to entity states. */
  readonly #stateSubscribers = new Set<ApiConnection>();
  #voice: ApiConnection | undefined;
  #run: VoiceRun | undefined;
  #conversation: { id: string; at: number } | undefined;
  #lastValues: EntityValues | undefined;
  readonly #wakeChoice: WakeWordChoice;
  /** Volume before the media player's mute, restored by unmute. */
  #volumeBeforeMute: number | undefined;
  #mdns: Advertisement | undefined;
  #started = false;

  constructor(options: EsphomeBackendOptions) {
    super();
    this.#o = options;
    this.#log = options.log.child('esphome');
    this.#clock = options.clock ?? systemScheduler();
    const c = options.config;
    const fetch = { timeoutMs: c.fetchTimeoutMs, maxBytes: c.maxReplyBytes, ...(options.ca ? { ca: options.ca } : {}) };
    this.#fetch = fetch;
    this.#server = new ApiServer(
      {
        port: c.port,
        ...(c.host ? { host: c.host } : {}),
        messages: ApiMessages.load(),
        log: this.#log,
        clock: this.#clock,
        psk: options.psk,
        name: options.identity.name,
        helloMac: options.identity.compactMac,
        serverInfo: `speaker-agent ${options.version}`,
        handshakeTimeoutMs: c.handshakeTimeoutMs,
        idleTimeoutMs: c.idleTimeoutMs,
      },
      { message: (conn, name, fields) => this.#onMessage(conn, name, fields), closed: (conn, reason) => this.#onClosed(conn, reason) },
    );
    this.#announcer = new Announcer({ emit: this.#emit, watch: this.#watch, fetch, log: this.#log, maxWaitMs: 300_000 });
    this.#wakeChoice = new WakeWordChoice(new PreferencesStore(options.preferencesFile, this.#log), this.#log, () => this.#watch.host);
    this.#timers = new Timers({ emit: this.#emit, log: this.#log, maxRingMs: c.timerMaxRingMs });
  }

  /** Home Assistant is connected and subscribed to the voice assistant. */
  get connected(): boolean {
    return this.#voice !== undefined;
  }

  /** The port the server listens on (the configured one, or the one chosen for port 0). */
  get port(): number {
    return this.#server.port;
  }

  get timers(): Timers {
    return this.#timers;
  }

  attachHost(host: SatelliteHost): void {
    this.#watch.attach(host);
    host.on('state', () => this.#publishStates());
  }

  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    await this.#server.listen();
    const { identity, config, psk } = this.#o;
    // The engine runs by now (the session starts the wake word before the backend).
    await this.#wakeChoice.restore();
    this.#log.info('esphome-listening', { port: this.port, name: identity.name, mac: identity.mac, encrypted: psk !== undefined });
    if (config.mdns) {
      this.#mdns = await advertise({ name: identity.name, port: this.port, mac: identity.compactMac, version: ESPHOME_VERSION, encrypted: psk !== undefined, log: this.#log });
    }
    this.emit('disconnected', { reason: `waiting for Home Assistant to connect on port ${this.port}`, auth: false, retryInMs: 0 });
  }

  async stop(): Promise<void> {
    if (!this.#started) return;
    this.#started = false;
    this.#run?.drop();
    this.#announcer.clear();
    this.#timers.stop();
    await this.#mdns?.stop();
    await this.#server.close();
  }

  beginTurn(turnId: string, options?: TurnOptions): void {
    const conn = this.#voice;
    if (!conn) throw new DisconnectedError(`Home Assistant is not connected (waiting on port ${this.port})`);
    this.#run?.cancel();
    const conv = this.#conversation && this.#clock.now() - this.#conversation.at < CONVERSATION_TIMEOUT_MS ? this.#conversation.id : '';
    const wake = options?.followUp ? '' : (this.#watch.host?.wakePhrase() ?? '');
    const run: VoiceRun = new VoiceRun(
      {
        turnId,
        send: (name, fields) => conn.send(name, fields),
        emit: this.#emit,
        fetch: this.#fetch,
        log: this.#log,
        clock: this.#clock,
        startTimeoutMs: this.#o.config.startTimeoutMs,
        onConversationId: (id) => (this.#conversation = { id, at: this.#clock.now() }),
        onDone: () => {
          if (this.#run === run) this.#run = undefined;
          // A run that ended without audio reaching the speaker is finished now.
          this.#watch.settle(turnId);
        },
      },
      { conversation_id: conv, flags: 0, audio_settings: { noise_suppression_level: 0, auto_gain: 0, volume_multiplier: 1 }, wake_word_phrase: wake },
    );
    this.#run = run;
    // Home Assistant learns that the answer has played (its satellite goes back to idle).
    this.#watch.watch(turnId, () => conn.send('VoiceAssistantAnnounceFinished', { success: true }));
    this.#log.info('esphome-run', { turnId, wakeWord: wake || undefined, followUp: !!options?.followUp, conversation: conv ? 'continued' : 'new' });
  }

  sendAudio(turnId: string, pcm: Int16Array): void {
    if (this.#run?.turnId === turnId) this.#run.audio(pcm);
  }

  endTurn(turnId: string): void {
    if (this.#run?.turnId === turnId) this.#run.endAudio();
  }

  cancelTurn(turnId: string): void {
    if (this.#run?.turnId === turnId) this.#run.cancel();
  }

  /** Home Assistant's satellite API has no typed request: the turn fails (on the next tick). */
  sendText(turnId: string, _text: string): void {
    setImmediate(() =>
      this.emit('turnError', {
        turnId,
        message: 'the esphome backend takes speech only: Home Assistant\'s satellite API has no typed request (use Home Assistant\'s own conversation API)',
      }),
    );
  }

  #values(): EntityValues {
    const s = this.#watch.host?.state();
    return {
      muted: s?.muted ?? false,
      volume: s?.volume ?? 100,
      speakerMuted: this.#volumeBeforeMute !== undefined,
      playing: s?.phase === 'speaking',
    };
  }

  #publishStates(): void {
    const v = this.#values();
    const last = this.#lastValues;
    this.#lastValues = v;
    if (!last) return;
    const changed = [];
    if (v.muted !== last.muted) changed.push({ name: 'SwitchStateResponse', fields: { key: MUTE_SWITCH_KEY, state: v.muted } });
    if (v.volume !== last.volume || v.speakerMuted !== last.speakerMuted || v.playing !== last.playing) changed.push(playerState(v));
    for (const conn of this.#stateSubscribers) for (const m of changed) conn.send(m.name, m.fields);
  }

  #onMessage(conn: ApiConnection, name: string, f: Fields): void {
    switch (name) {
      case 'DeviceInfoRequest': {
        const id = this.#o.identity;
        conn.send('DeviceInfoResponse', {
          uses_password: false,
          name: id.name,
          friendly_name: id.friendlyName,
          mac_address: id.mac,
          esphome_version: ESPHOME_VERSION,
          model: 'speaker-agent',
          manufacturer: 'speaker-agent',
          project_name: 'speaker-agent.speaker-agent',
          project_version: this.#o.version,
          voice_assistant_feature_flags: VOICE_FEATURES,
        });
        return;
      }
      case 'ListEntitiesRequest':
        for (const e of listEntities(this.#o.identity.name)) conn.send(e.name, e.fields);
        conn.send('ListEntitiesDoneResponse');
        return;
      case 'SubscribeStatesRequest':
        this.#stateSubscribers.add(conn);
        this.#lastValues = this.#values();
        for (const e of entityStates(this.#lastValues)) conn.send(e.name, e.fields);
        return;
      case 'SwitchCommandRequest':
        if (f.key === MUTE_SWITCH_KEY) this.#watch.host?.setMuted(!!f.state);
        // The new state goes out when the session reports it; answer now when nothing changes.
        conn.send('SwitchStateResponse', { key: MUTE_SWITCH_KEY, state: this.#values().muted });
        return;
      case 'MediaPlayerCommandRequest':
        if (f.key === MEDIA_PLAYER_KEY) this.#onPlayerCommand(conn, f);
        return;
      case 'SubscribeVoiceAssistantRequest':
        this.#onVoiceSubscribe(conn, f);
        return;
      case 'VoiceAssistantResponse':
        if (conn === this.#voice) this.#run?.accepted(f);
        return;
      case 'VoiceAssistantEventResponse': {
        if (conn !== this.#voice) return;
        const data: Record<string, string> = {};
        for (const d of (f.data as { name?: string; value?: string }[] | undefined) ?? []) if (d.name) data[d.name] = String(d.value ?? '');
        this.#log.debug('esphome-pipeline-event', { type: f.event_type, data: Object.keys(data) });
        this.#run?.event(Number(f.event_type), data);
        return;
      }
      case 'VoiceAssistantTimerEventResponse':
        this.#timers.event(f);
        return;
      case 'VoiceAssistantAnnounceRequest':
        this.#onAnnounce(conn, f);
        return;
      case 'VoiceAssistantConfigurationRequest':
        conn.send('VoiceAssistantConfigurationResponse', this.#wakeChoice.configuration());
        return;
      case 'VoiceAssistantSetConfiguration':
        void this.#wakeChoice.set(f);
        return;
      case 'VoiceAssistantAudio':
        // Only sent to satellites with the SPEAKER feature, which this one does not claim.
        return;
      default:
        this.#log.debug('esphome-ignored', { peer: conn.peer, message: name });
    }
  }

  #onVoiceSubscribe(conn: ApiConnection, f: Fields): void {
    if (f.subscribe) {
      if (!((Number(f.flags) & SUBSCRIBE_API_AUDIO) !== 0)) {
        this.#log.warn('esphome-udp-audio', { peer: conn.peer, fix: 'Home Assistant asked for audio over UDP, which this speaker does not support: update Home Assistant' });
      }
      const was = this.#voice;
      this.#voice = conn;
      this.#log.info('esphome-voice-subscribed', { peer: conn.peer, client: conn.clientInfo });
      if (!was) this.emit('connected');
      else if (was !== conn) this.#run?.drop();
    } else if (this.#voice === conn) {
      this.#loseVoice('Home Assistant unsubscribed from the voice assistant');
    }
  }

  #onClosed(conn: ApiConnection, reason: string): void {
    this.#stateSubscribers.delete(conn);
    if (this.#voice === conn) this.#loseVoice(`Home Assistant disconnected (${reason})`);
  }

  #loseVoice(reason: string): void {
    this.#voice = undefined;
    this.#run?.drop();
    this.#announcer.clear();
    this.emit('disconnected', { reason, auth: false, retryInMs: 0 });
  }

  #onPlayerCommand(conn: ApiConnection, f: Fields): void {
    const host = this.#watch.host;
    const cmd = parsePlayerCommand(f);
    switch (cmd.kind) {
      case 'play':
        this.#announcer.enqueue({ urls: [cmd.url], text: '', prompt: false, finished: () => undefined });
        break;
      case 'volume':
        this.#volumeBeforeMute = undefined;
        host?.setVolume(cmd.percent);
        break;
      case 'mute':
        if (cmd.muted && this.#volumeBeforeMute === undefined) {
          this.#volumeBeforeMute = host?.state().volume ?? 100;
          host?.setVolume(0);
        } else if (!cmd.muted && this.#volumeBeforeMute !== undefined) {
          const v = this.#volumeBeforeMute;
          this.#volumeBeforeMute = undefined;
          host?.setVolume(v);
        }
        break;
      case 'stop':
        host?.stop();
        break;
      case 'unsupported':
        this.#log.info('esphome-player-unsupported', { what: cmd.what });
        break;
    }
    conn.send(playerState(this.#values()).name, playerState(this.#values()).fields);
  }

  #onAnnounce(conn: ApiConnection, f: Fields): void {
    const urls = [f.preannounce_media_id, f.media_id].filter((u): u is string => typeof u === 'string' && u !== '');
    this.#announcer.enqueue({
      urls,
      text: typeof f.text === 'string' ? f.text : '',
      prompt: !!f.start_conversation,
      finished: (success) => conn.send('VoiceAssistantAnnounceFinished', { success }),
    });
  }
}
