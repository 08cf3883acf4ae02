/** Bounded collections: the oldest entries are forgotten first. */

/** Adds to a bounded set or map, forgetting the oldest entries. */
export function remember(into: Set<string>, id: string, limit: number): void;
export function remember(into: Map<string, string>, id: string, limit: number, value: string): void;
export function remember(into: Set<string> | Map<string, string>, id: string, limit: number, value?: string): void {
  if (into instanceof Map) into.set(id, value!);
  else into.add(id);
  for (const oldest of into.keys()) {
    if (into.size <= limit) break;
    into.delete(oldest);
  }
}

