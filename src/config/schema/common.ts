/** Building blocks shared by the configuration sections. */
import { z } from 'zod';

export const ms = (def: number, min = 0, max = 600_000) => z.number().int().min(min).max(max).default(def);
export const optionsObject = z.record(z.string(), z.unknown());

/** A driver spec: `wav:PATH`, `alsa:NAME`, `none`, ... The scheme picks the driver. */
export const driverSpec = z.string().min(1, 'must name a driver, e.g. "wav:/path/file.wav" or "alsa:default"');
