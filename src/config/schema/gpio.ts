/** Button and LED settings (`gpio:`); see docs/hardware.md. */
import { z } from 'zod';
import { ms } from './common.js';

/** `#rrggbb` colour used by LED patterns. */
const hexColor = z.string().regex(/^#[0-9a-fA-F]{6}$/, 'must be a colour like "#ff8000"');

/** LED colours per state; any state left out keeps the built-in colour (src/leds/patterns.ts). */
export const LedColorsSchema = z
  .object({
    idle: hexColor.optional(),
    listening: hexColor.optional(),
    'follow-up': hexColor.optional(),
    thinking: hexColor.optional(),
    speaking: hexColor.optional(),
    muted: hexColor.optional(),
    error: hexColor.optional(),
    disconnected: hexColor.optional(),
    /** Idle with Home Assistant timers running. */
    timer: hexColor.optional(),
    /** A finished timer ringing. */
    ringing: hexColor.optional(),
  })
  .strict();

export const LedsSchema = z
  .object({
    /**
     * `apa102`: RGB strip on SPI (ReSpeaker HATs); `gpio`: one single-colour LED on a pin;
     * `ktd2027`: the RGB button LED of the AIY Voice Bonnet, through a KTD2027 chip on I2C; `none`.
     */
    driver: z.enum(['none', 'apa102', 'gpio', 'ktd2027']).default('none'),
    /** Number of APA102 LEDs on the strip (3 on the 2-mic HAT, 12 on the 4-mic array). */
    count: z.number().int().min(1).max(256).default(3),
    /** SPI device node the APA102 strip is wired to. */
    spiDevice: z
      .string()
      .regex(/^\/dev\/spidev\d+\.\d+$/, 'must be a spidev node like "/dev/spidev0.1"')
      .default('/dev/spidev0.1'),
    /** SPI clock in Hz for the APA102 strip (the kernel default is far too fast for it). */
    spiSpeedHz: z.number().int().min(100_000).max(32_000_000).default(8_000_000),
    /** I2C bus number of the KTD2027 (`/dev/i2c-1` is the header's bus on every Pi). */
    i2cBus: z.number().int().min(0).max(255).default(1),
    /** 7-bit I2C address of the KTD2027 (0x31 on the AIY Voice Bonnet; chip variants on other boards may use 0x30). */
    i2cAddress: z.number().int().min(0x03).max(0x77).default(0x31),
    /** BCM pin driven high before the LEDs are used (GPIO5 powers the 4-mic array's LEDs). */
    powerPin: z.number().int().min(0).max(53).optional(),
    /** BCM pin of a single-colour LED (`driver: gpio`; GPIO25 on the AIY Voice HAT). */
    pin: z.number().int().min(0).max(53).optional(),
    /**
     * Overall brightness 0-31 (the APA102 global brightness field; scales single LEDs too; for
     * the KTD2027 the maximum current, 31 = 24 mA).
     */
    brightness: z.number().int().min(0).max(31).default(10),
    /** Animation frames per second (only while a state animates; static states write once). */
    fps: z.number().int().min(5).max(100).default(30),
    colors: LedColorsSchema.prefault({}),
  })
  .strict()
  .refine((l) => l.driver !== 'gpio' || l.pin !== undefined, {
    message: 'driver "gpio" needs "pin" (the BCM number of the LED pin, e.g. 25)',
    path: ['pin'],
  });

export const GpioSchema = z
  .object({
    /**
     * `rpio`: memory-mapped GPIO (Pi 1-4, Zero); `gpiod`: GPIO character device through the
     * libgpiod tools (Pi 5, any current kernel); `auto`: pick by board model; `none`.
     */
    driver: z.enum(['none', 'rpio', 'gpiod', 'auto']).default('none'),
    /** BCM pin of the button (17 on the ReSpeaker 2-mic HAT, 23 on the AIY kits); none: no button. */
    buttonPin: z.number().int().min(0).max(53).optional(),
    /** The button pulls the pin low when pressed (pull-up enabled). */
    activeLow: z.boolean().default(true),
    /** A level must hold this long to count (contact bounce is shorter). */
    debounceMs: ms(50, 0, 1000),
    /** Held at least this long: `long-press` (mute/unmute). */
    longPressMs: ms(1000, 200, 10_000),
    /** Second press within this window: `double-press`; 0 disables it (then `press` fires at once). */
    doublePressMs: ms(0, 0, 2000),
    /** rpio: how often the button pin is sampled (rpio's own edge polling runs every 1 ms). */
    pollMs: z.number().int().min(1).max(100).default(10),
    /** gpiod: GPIO chip label to look for (default: pinctrl-rp1, pinctrl-bcm2711, pinctrl-bcm2835). */
    chipLabel: z.string().optional(),
    leds: LedsSchema.prefault({}),
  })
  .strict();
