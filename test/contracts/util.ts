/** Small helpers the contract suites share. */

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Resolves once `pred()` holds, polling every 5 ms; rejects after `timeoutMs` naming `what`. */
export async function until(pred: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const start = Date.now();
  while (!pred()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

/** `describe` for a suite, or `describe.skip` with the reason in its name when `skip` says why. */
export function suiteName(name: string, skip: string | undefined): string {
  return skip ? `${name} (skipped: ${skip})` : name;
}
