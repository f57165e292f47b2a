/**
 * oslo.utils `is_uuid_like`, which Cyborg uses to tell a uuid from a name:
 * case-insensitive, dashes optional, `{}` and `urn:uuid:` tolerated.
 */
export function isUuidLike(value: string): boolean {
  return canonicalUuid(value) !== null;
}

/** The lowercase 8-4-4-4-12 form of a uuid-like value; null when it is not one. */
export function canonicalUuid(value: string): string | null {
  const hex = value
    .replace('urn:', '')
    .replace('uuid:', '')
    .replace(/^[{}]+|[{}]+$/g, '')
    .replace(/-/g, '')
    .toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(hex)) return null;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
