/**
 * Python's `datetime.isoformat()` of a UTC time, as Cyborg writes
 * timestamps: `+00:00`, and microseconds only when there are any.
 */
export function cyborgTimestamp(value: Date | string): string {
  const date = typeof value === 'string' ? new Date(value) : value;
  const iso = date.toISOString(); // 2026-07-21T10:00:00.123Z
  const ms = date.getUTCMilliseconds();
  const fraction = ms === 0 ? '' : `.${String(ms * 1000).padStart(6, '0')}`;
  return `${iso.slice(0, 19)}${fraction}+00:00`;
}
