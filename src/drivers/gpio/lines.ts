/**
 * Pin access as the GPIO drivers (rpio, gpiod) provide it: watch an input, drive an output.
 * Pins are BCM numbers (the "GPIO17" on pinout diagrams), never header positions.
 */

export type Bias = 'pull-up' | 'pull-down' | 'none';

export interface InputLine {
  /** The level read when watching started (true = high). */
  readonly initial: boolean;
  close(): Promise<void>;
}

export interface OutputLine {
  /** Drives the pin; repeated equal values cost nothing. */
  set(high: boolean): void;
  /** Drives the pin low and releases it. Safe twice. */
  close(): Promise<void>;
}

export interface GpioLines {
  /** `rpio` or `gpiod`, for log lines. */
  readonly name: string;
  /**
   * Watches `pin` with the given bias; `onChange(high)` runs on every level change.
   * `onError` reports a failure after start (e.g. the monitor process died).
   */
  input(pin: number, bias: Bias, onChange: (high: boolean) => void, onError: (err: Error) => void): Promise<InputLine>;
  /** Claims `pin` as an output at level `initial`. */
  output(pin: number, initial: boolean, onError: (err: Error) => void): Promise<OutputLine>;
  /** Releases everything still claimed. Safe twice. */
  close(): Promise<void>;
}
