/** NUL, which PostgreSQL text and jsonb cannot hold, and UTF-16 surrogates without their pair, which UTF-8 cannot. */
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Where in `value` (a parsed JSON message or request part) a string holds a
 * character that cannot be stored, as a path like `groups[0].name`; null
 * when there is none. Walks iteratively: a deeply nested body cannot
 * overflow the stack.
 */
export function unstorableTextAt(value: unknown): string | null {
  const pending: [unknown, string][] = [[value, '']];
  while (pending.length > 0) {
    const [item, path] = pending.pop()!;
    if (typeof item === 'string') {
      if (UNSTORABLE.test(item)) return path || '(value)';
    } else if (Array.isArray(item)) {
      item.forEach((child, i) => pending.push([child, `${path}[${i}]`]));
    } else if (typeof item === 'object' && item !== null) {
      for (const [key, child] of Object.entries(item)) {
        const at = path ? `${path}.${key}` : key;
        if (UNSTORABLE.test(key)) return at;
        pending.push([child, at]);
      }
    }
  }
  return null;
}
