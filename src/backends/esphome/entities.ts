/**
 * The entities the speaker shows in Home Assistant, as linux-voice-assistant and the Voice PE do
 * (docs/backends.md, "esphome"): a media player (volume, mute of the speaker output, play a URL,
 * stop; its announcement format tells Home Assistant to send 16 kHz mono WAV, which plays with
 * no decoder) and a "Mute" switch for the microphone. The wake word choice is not an entity: Home
 * Assistant builds its select from the voice assistant configuration messages.
 */
import type { Fields } from './proto.js';

export const MEDIA_PLAYER_KEY = 1;
export const MUTE_SWITCH_KEY = 2;

/** aioesphomeapi's MediaPlayerEntityFeature bits. */
const FEATURE = { VOLUME_SET: 1 << 2, VOLUME_MUTE: 1 << 3, PLAY_MEDIA: 1 << 9, STOP: 1 << 12, MEDIA_ANNOUNCE: 1 << 20 } as const;
/** MediaPlayerState values. */
export const PLAYER_STATE = { IDLE: 1, PLAYING: 2, ANNOUNCING: 4 } as const;
/** MediaPlayerCommand values the player accepts. */
export const PLAYER_COMMAND = { STOP: 2, MUTE: 3, UNMUTE: 4 } as const;
const ENTITY_CATEGORY_CONFIG = 1;
const FORMAT_PURPOSE_ANNOUNCEMENT = 1;

export interface EntityValues {
  muted: boolean;
  volume: number;
  speakerMuted: boolean;
  playing: boolean;
}

/** ListEntities responses, in order. */
export function listEntities(deviceName: string): { name: string; fields: Fields }[] {
  const base = deviceName.replace(/-/g, '_');
  return [
    {
      name: 'ListEntitiesMediaPlayerResponse',
      fields: {
        object_id: `${base}_media_player`,
        key: MEDIA_PLAYER_KEY,
        name: 'Media Player',
        icon: 'mdi:speaker',
        supports_pause: false,
        feature_flags: FEATURE.VOLUME_SET | FEATURE.VOLUME_MUTE | FEATURE.PLAY_MEDIA | FEATURE.STOP | FEATURE.MEDIA_ANNOUNCE,
        // Home Assistant converts TTS and announcements to this (the first announcement format).
        supported_formats: [
          { format: 'wav', sample_rate: 16000, num_channels: 1, purpose: FORMAT_PURPOSE_ANNOUNCEMENT, sample_bytes: 2 },
          { format: 'mp3', sample_rate: 0, num_channels: 0, purpose: 0, sample_bytes: 0 },
          // Decoded as it arrives (src/audio/flac.ts), at any rate and channel count.
          { format: 'flac', sample_rate: 0, num_channels: 0, purpose: 0, sample_bytes: 0 },
        ],
      },
    },
    {
      name: 'ListEntitiesSwitchResponse',
      fields: {
        object_id: `${base}_mute`,
        key: MUTE_SWITCH_KEY,
        name: 'Mute',
        icon: 'mdi:microphone-off',
        entity_category: ENTITY_CATEGORY_CONFIG,
      },
    },
  ];
}

export function entityStates(v: EntityValues): { name: string; fields: Fields }[] {
  return [playerState(v), { name: 'SwitchStateResponse', fields: { key: MUTE_SWITCH_KEY, state: v.muted } }];
}

export function playerState(v: EntityValues): { name: string; fields: Fields } {
  return {
    name: 'MediaPlayerStateResponse',
    fields: {
      key: MEDIA_PLAYER_KEY,
      state: v.playing ? PLAYER_STATE.PLAYING : PLAYER_STATE.IDLE,
      volume: v.volume / 100,
      muted: v.speakerMuted,
    },
  };
}

/** What a media player command asks for. */
export type PlayerCommand =
  | { kind: 'play'; url: string; announcement: boolean }
  | { kind: 'volume'; percent: number }
  | { kind: 'mute'; muted: boolean }
  | { kind: 'stop' }
  | { kind: 'unsupported'; what: string };

export function parsePlayerCommand(f: Fields): PlayerCommand {
  if (f.has_media_url && typeof f.media_url === 'string' && f.media_url) {
    return { kind: 'play', url: f.media_url, announcement: !!(f.has_announcement && f.announcement) };
  }
  if (f.has_volume && typeof f.volume === 'number' && Number.isFinite(f.volume)) {
    return { kind: 'volume', percent: Math.max(0, Math.min(100, Math.round(f.volume * 100))) };
  }
  if (f.has_command) {
    if (f.command === PLAYER_COMMAND.STOP) return { kind: 'stop' };
    if (f.command === PLAYER_COMMAND.MUTE) return { kind: 'mute', muted: true };
    if (f.command === PLAYER_COMMAND.UNMUTE) return { kind: 'mute', muted: false };
    return { kind: 'unsupported', what: `command ${String(f.command)}` };
  }
  return { kind: 'unsupported', what: 'an empty command' };
}
