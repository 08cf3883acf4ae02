/**
 * mDNS advertisement of `_esphomelib._tcp`, so Home Assistant discovers the speaker (the TXT
 * keys follow ESPHome's and linux-voice-assistant's). `@homebridge/ciao` is an optional
 * dependency loaded only here: without it the agent still works and Home Assistant can add the
 * speaker by address (docs/backends.md, "esphome").
 */
import type * as Ciao from '@homebridge/ciao';
import { errorMessage } from '../../errors.js';
import type { Logger } from '../../log/logger.js';

export interface Advertisement {
  stop(): Promise<void>;
}

export interface AdvertiseOptions {
  name: string;
  port: number;
  /** `aabbccddeeff`, as ESPHome puts it in the TXT record. */
  mac: string;
  version: string;
  /** The API requires the Noise key: Home Assistant then asks for it before connecting. */
  encrypted: boolean;
  log: Logger;
}

/** Starts advertising; never throws (a failure is logged and nothing is advertised). */
export async function advertise(o: AdvertiseOptions): Promise<Advertisement> {
  let ciao: typeof Ciao;
  try {
    ciao = await import('@homebridge/ciao');
  } catch (err) {
    o.log.warn('esphome-mdns-unavailable', {
      error: errorMessage(err).split('\n')[0],
      fix: 'install the optional package @homebridge/ciao for discovery, or add the speaker in Home Assistant by its address and port',
    });
    return { stop: async () => undefined };
  }
  try {
    const responder = (ciao.getResponder ?? ciao.default.getResponder)();
    const service = responder.createService({
      name: o.name,
      type: 'esphomelib',
      port: o.port,
      txt: {
        friendly_name: o.name,
        version: o.version,
        mac: o.mac,
        platform: 'HOST',
        board: 'host',
        network: 'ethernet',
        ...(o.encrypted ? { api_encryption: 'Noise_NNpsk0_25519_ChaChaPoly_SHA256' } : {}),
      },
    });
    await service.advertise();
    o.log.info('esphome-mdns', { name: o.name, type: '_esphomelib._tcp', port: o.port });
    let stopped = false;
    return {
      async stop() {
        if (stopped) return;
        stopped = true;
        try {
          await service.end();
          await responder.shutdown();
        } catch (err) {
          o.log.debug('esphome-mdns-stop-failed', { error: errorMessage(err) });
        }
      },
    };
  } catch (err) {
    o.log.warn('esphome-mdns-failed', { error: errorMessage(err), fix: 'add the speaker in Home Assistant by its address and port' });
    return { stop: async () => undefined };
  }
}
