/** `none` GPIO: no button, no LEDs (USB mic setups). LED state is still on the control socket. */
import type { Gpio, GpioEvents } from '../../ports/gpio.js';
import { TypedEmitter } from '../../util/typed-emitter.js';

export class NoGpio extends TypedEmitter<GpioEvents> implements Gpio {
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  setLed(): void {}
}
