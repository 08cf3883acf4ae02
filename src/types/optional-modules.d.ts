// Type declarations for the optional dependencies the code imports by name. npm installs an
// optional dependency only when it builds (speaker and naudiodon do not build on arm64, see
// docs/audio.md "Backends"), and the TypeScript compile must not depend on which ones did:
// these declarations are used whether the package is present or not (an ambient module
// declaration takes precedence over the package's own types), and each caller types the
// members it uses itself. Packages loaded with createRequire (naudiodon, speaker, koffi) need
// none. rpio and i2c-bus are declared beside their drivers (src/drivers/gpio/*.d.ts).

declare module 'spi-device';
declare module 'speaker';

declare module '@picovoice/porcupine-node' {
  /** The members of porcupine-node 4.x the wake-word adapter and its tests use. */
  export class Porcupine {
    constructor(accessKey: string, keywords: string[], sensitivities: number[], options?: { modelPath?: string; libraryPath?: string });
    readonly frameLength: number;
    readonly sampleRate: number;
    readonly version: string;
    process(frame: Int16Array): number;
    release(): void;
  }
  export const BuiltinKeyword: Record<string, string>;
}
