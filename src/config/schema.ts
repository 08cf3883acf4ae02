/**
 * The one configuration schema: types, defaults and validation all come from here.
 * A config file (YAML or JSON), environment variables and command-line flags are merged
 * (flags win) and then parsed by `ConfigSchema`; every problem is reported as `path: message`.
 */
import { z } from 'zod';
import { AudioSchema, ConversationSchema } from './schema/audio.js';
import { PipelineSchema, SocaSchema } from './schema/backends.js';
import { EsphomeSchema } from './schema/esphome.js';
import { GatewaySchema } from './schema/gateway.js';
import { GpioSchema } from './schema/gpio.js';
import { MqttSchema } from './schema/mqtt.js';
import { WakeSchema } from './schema/wake.js';

// The config is parsed once per process: zod's compiled object parsers (generated with
// `new Function` on first use) cost more to build than they save here, about 15 ms of CPU at
// every start (docs/benchmarks.md). Same results, interpreted.
z.config({ jitless: true });

export * from './schema/audio.js';
export * from './schema/backends.js';
export * from './schema/esphome.js';
export * from './schema/gateway.js';
export * from './schema/gpio.js';
export * from './schema/mqtt.js';
export * from './schema/wake.js';

export const ControlSchema = z
  .object({
    /** Unix socket path for the control interface; empty disables it. Default: runtime dir. */
    socket: z.string().optional(),
  })
  .strict();

export const LogSchema = z
  .object({
    level: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
    format: z.enum(['json', 'pretty']).default('json'),
  })
  .strict();

export const ConfigSchema = z
  .object({
    backend: z.enum(['gateway', 'soca', 'pipeline', 'esphome']).default('gateway'),
    /** Hardware profile applied under the config file: a name from hardware/ or a path to a YAML file. */
    hardware: z.string().optional(),
    gateway: GatewaySchema.prefault({}),
    soca: SocaSchema.prefault({}),
    pipeline: PipelineSchema.prefault({}),
    esphome: EsphomeSchema.prefault({}),
    audio: AudioSchema.prefault({}),
    conversation: ConversationSchema.prefault({}),
    wake: WakeSchema.prefault({}),
    gpio: GpioSchema.prefault({}),
    control: ControlSchema.prefault({}),
    mqtt: MqttSchema.prefault({}),
    log: LogSchema.prefault({}),
  })
  .strict()
  .transform((c) => ({
    ...c,
    // The default end of listening follows the backend's flow (docs/audio.md "End of listening").
    conversation: { ...c.conversation, endOnSilence: c.conversation.endOnSilence ?? c.backend !== 'gateway' },
  }));

export type Config = z.infer<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;
export type GatewayConfig = Config['gateway'];
export type SocaConfig = Config['soca'];
export type PipelineConfig = Config['pipeline'];
export type EsphomeConfig = Config['esphome'];
export type AssemblyAiConfig = PipelineConfig['assemblyai'];
export type SlngSttConfig = PipelineConfig['slngStt'];
export type SkillConfig = PipelineConfig['skill'];
export type SlngTtsConfig = PipelineConfig['slngTts'];
export type PocketsphinxConfig = PipelineConfig['pocketsphinx'];
export type AudioConfig = Config['audio'];
export type EarconsConfig = Config['audio']['earcons'];
export type ConversationConfig = Config['conversation'];
export type VadConfig = Config['conversation']['vad'];
export type GpioConfig = Config['gpio'];
export type LedsConfig = Config['gpio']['leds'];
export type WakeConfig = Config['wake'];
export type MqttConfig = Config['mqtt'];

