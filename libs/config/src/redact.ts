/** What a redacted value is printed as. */
export const REDACTED = '[redacted]';

/** Keys whose values are secrets wherever they appear: passwords, secrets, tokens, auth headers. */
const SECRET_KEY = /(password|passwd|secret|token|authorization|cookie)$/i;
/** `X-Auth-Token: ...`, `"password":"..."`, `secret=...` inside free text (error messages, URLs). */
const SECRET_IN_TEXT =
  /((?:x-auth-token|x-service-token|x-subject-token|password|passwd|secret|authorization)["']?\s*[:=]\s*["']?)(?:Bearer\s+)?[^\s"',;&}]+/gi;
/** A Keystone fernet token (they all start so), wherever it turns up. */
const FERNET_TOKEN = /gAAAAA[A-Za-z0-9_=-]{20,}/g;
const MAX_DEPTH = 10;

/**
 * Removes secrets from what is about to be logged: values under secret keys,
 * secrets written into text, fernet tokens, and the given secret values
 * (the settings' passwords and tokens) wherever they occur.
 */
export class Redactor {
  private readonly secrets: string[];

  /** `secrets`: exact values never to print (shorter than 4 characters are ignored: too common to find safely). */
  constructor(secrets: readonly (string | undefined)[] = []) {
    this.secrets = [...new Set(secrets.filter((s): s is string => typeof s === 'string' && s.length >= 4))].sort(
      (a, b) => b.length - a.length,
    );
  }

  redact(value: unknown): unknown {
    return this.walk(value, 0, new WeakSet());
  }

  text(value: string): string {
    let out = value;
    for (const secret of this.secrets) out = out.split(secret).join(REDACTED);
    return out.replace(FERNET_TOKEN, REDACTED).replace(SECRET_IN_TEXT, `$1${REDACTED}`);
  }

  private walk(value: unknown, depth: number, seen: WeakSet<object>): unknown {
    if (typeof value === 'string') return this.text(value);
    if (typeof value !== 'object' || value === null) return value;
    if (seen.has(value) || depth > MAX_DEPTH) return '[…]';
    seen.add(value);
    if (value instanceof Error) {
      const copy = new Error(this.text(value.message));
      copy.name = value.name;
      copy.stack = value.stack === undefined ? undefined : this.text(value.stack);
      return copy;
    }
    if (Array.isArray(value)) return value.map((item) => this.walk(item, depth + 1, seen));
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      out[key] =
        SECRET_KEY.test(key) && item !== null && item !== undefined && typeof item !== 'boolean'
          ? REDACTED
          : this.walk(item, depth + 1, seen);
    }
    return out;
  }
}
