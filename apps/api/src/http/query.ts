import { BadRequestException } from '@nestjs/common';

/**
 * Cyborg's handlers take exactly their listed query parameters; any other is
 * a 400 (§1.4). A parameter given twice counts as one comma-separated list.
 */
export function strictQuery<K extends string>(
  query: Record<string, unknown>,
  allowed: readonly K[],
): Partial<Record<K, string>> {
  const out: Partial<Record<K, string>> = {};
  for (const [name, value] of Object.entries(query)) {
    if (!(allowed as readonly string[]).includes(name)) throw new BadRequestException(`Unknown argument: "${name}"`);
    out[name as K] = Array.isArray(value) ? value.map(String).join(',') : String(value);
  }
  return out;
}
