/**
 * The hardware check behind `speaker-agent test-hardware`: shows every LED state in turn and
 * waits for a button press, so a person holding the board sees at once whether the wiring and
 * permissions are right. Pure over its inputs (gpio, sleep, output) so it is testable.
 */
import type { ButtonEvent, Gpio, LedState } from '../ports/gpio.js';

/** The states in the order a conversation shows them, with what a person should see. */
export const LED_TOUR: { state: LedState; look: string }[] = [
  { state: 'idle', look: 'off (or your idle colour)' },
  { state: 'listening', look: 'solid blue' },
  { state: 'follow-up', look: 'breathing green-cyan' },
  { state: 'thinking', look: 'violet light spinning round' },
  { state: 'speaking', look: 'light-blue, brightness following a fake voice' },
  { state: 'muted', look: 'solid red' },
  { state: 'error', look: 'red blinking twice a second' },
  { state: 'disconnected', look: 'amber blinking slowly' },
  { state: 'timer', look: 'dim warm white, pulsing slowly (a timer is running)' },
  { state: 'ringing', look: 'bright warm white, pulsing fast (a timer rings)' },
  { state: 'off', look: 'off' },
];

export interface HardwareCheckOptions {
  gpio: Gpio;
  /** Why there is no button to check (not configured, or failed to start); unset: check it. */
  noButton?: string;
  /** Why there are no LEDs to show (not configured, or failed to start); unset: show them. */
  noLeds?: string;
  /** How long each LED state is shown (ms). */
  stepMs: number;
  /** How long to wait for a button press (ms). */
  buttonTimeoutMs: number;
  /** Waits `ms`; resolves early when `signal` aborts (so a press ends the wait at once). */
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  write: (line: string) => void;
}

export interface HardwareCheckResult {
  ledsShown: LedState[];
  /** Button gestures seen while waiting; undefined when no button is configured. */
  button?: ButtonEvent[];
  buttonOk?: boolean;
}

export async function runHardwareCheck(o: HardwareCheckOptions): Promise<HardwareCheckResult> {
  const result: HardwareCheckResult = { ledsShown: [] };
  if (o.noLeds === undefined) {
    o.write('LED states (watch the LEDs):\n');
    for (const { state, look } of LED_TOUR) {
      o.write(`  ${state.padEnd(13)} ${look}\n`);
      o.gpio.setLed(state, state === 'speaking' ? 0.2 : undefined);
      if (state === 'speaking') {
        // A made-up syllable rhythm, so the level animation is visible.
        const steps = 10;
        for (let i = 0; i < steps; i++) {
          await o.sleep(o.stepMs / steps);
          o.gpio.setLed('speaking', Math.abs(Math.sin(i * 1.3)));
        }
      } else {
        await o.sleep(o.stepMs);
      }
      result.ledsShown.push(state);
    }
  } else {
    o.write(`${o.noLeds}: skipping the LED tour.\n`);
  }
  if (o.noButton !== undefined) {
    o.write(`${o.noButton}: skipping the button check.\n`);
    return result;
  }
  const seen: ButtonEvent[] = [];
  o.write(`Press the button now (waiting ${Math.round(o.buttonTimeoutMs / 1000)} s)...\n`);
  o.gpio.setLed('listening');
  const stopWaiting = new AbortController();
  const pressed = await new Promise<boolean>((resolve) => {
    const onButton = (e: ButtonEvent) => {
      seen.push(e);
      o.write(`  button: ${e}\n`);
      if (e === 'press' || e === 'long-press' || e === 'double-press') finish(true);
    };
    let done = false;
    const finish = (ok: boolean) => {
      if (done) return;
      done = true;
      o.gpio.off('button', onButton);
      stopWaiting.abort();
      resolve(ok);
    };
    o.gpio.on('button', onButton);
    void o.sleep(o.buttonTimeoutMs, stopWaiting.signal).then(() => finish(false));
  });
  o.gpio.setLed('off');
  result.button = seen;
  result.buttonOk = pressed;
  o.write(
    pressed
      ? 'Button OK.\n'
      : seen.length
        ? 'The button went down but no complete press was seen: check the wiring and gpio.activeLow.\n'
        : 'No button press seen: check gpio.buttonPin (BCM numbering), gpio.activeLow and the wiring.\n',
  );
  return result;
}
