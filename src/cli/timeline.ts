/** Prints a turn as a timeline from the control socket's events (`speaker-agent listen --timeline`). */

type Ev = Record<string, unknown>;

const LABELS: Record<string, (d: Record<string, unknown>) => string> = {
  trigger: (d) => `trigger (${String(d.source ?? '?')})`,
  audio_start: (d) => (d.followUp ? 'audio_start sent (follow-up, no wake word)' : 'audio_start sent'),
  first_audio_data: () => 'first audio_data sent',
  transcript: (d) => `transcript: ${JSON.stringify(d.text ?? '')}`,
  audio_end: () => 'audio_end sent, microphone closed',
  reply_text: (d) => `reply text: ${JSON.stringify(d.text ?? '')}`,
  reply_audio: () => 'reply audio arriving',
  first_sample: (d) => `first reply sample to the speaker (${String(d.latencyMs)} ms after its first byte)`,
  reply_end: (d) => `reply complete (prompt=${String(d.prompt)})`,
  drained: () => 'playback drained',
  follow_up: () => 'follow-up listening (prompt=true)',
  idle: () => 'idle',
};

export class TimelinePrinter {
  #t0: number | undefined;
  /** The timeline ends at the first idle (after any follow-ups) or at a refusal. */
  #done = false;

  constructor(private readonly write: (line: string) => void) {}

  /** Feeds one control-socket event; returns true when the timeline is complete. */
  feed(e: Ev): boolean {
    if (e.event === 'error') this.write(`  ${this.#stamp(undefined)}  ERROR ${String(e.code)}: ${String(e.message)}`);
    if (e.event === 'notice') this.write(`  ${this.#stamp(undefined)}  ${String(e.message)}`);
    if (e.event === 'refused') {
      this.write(`  refused: ${String(e.message)}`);
      this.#done = true;
      return true;
    }
    if (e.event !== 'timeline') return false;
    const mark = String(e.mark);
    const t = Number(e.t);
    if (this.#t0 === undefined) {
      if (mark !== 'trigger') return false;
      this.#t0 = t;
    }
    const label = LABELS[mark]?.((e.detail as Record<string, unknown>) ?? {}) ?? mark;
    this.write(`  ${this.#stamp(t)}  ${label}`);
    if (mark === 'idle') this.#done = true;
    return this.#done;
  }

  #last = 0;
  #stamp(t: number | undefined): string {
    if (t !== undefined) this.#last = t - (this.#t0 ?? t);
    return `+${Math.round(this.#last)} ms`.padStart(10);
  }
}
