import { AuditInputError } from './errors';

/** A point in the log's history: a wall-clock time, or a log position (the event at it included). */
export type Moment = { kind: 'time'; at: Date } | { kind: 'position'; position: number };

const ISO_DATE = /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}(:?\d{2})?)?)?$/i;
const MAX_POSITION = Number.MAX_SAFE_INTEGER;

/** An ISO 8601 date or date-time (a time without zone is UTC), or `now`. */
export function parseTime(text: string, field: string): Date {
  const value = text.trim();
  if (value.toLowerCase() === 'now') return new Date();
  const zoned = /[T ]\d{2}:\d{2}/.test(value) && !/(Z|[+-]\d{2}(:?\d{2})?)$/i.test(value) ? `${value}Z` : value;
  const at = ISO_DATE.test(value) ? new Date(zoned) : new Date(Number.NaN);
  if (Number.isNaN(at.getTime())) {
    throw new AuditInputError(`${field} must be an ISO 8601 time (e.g. 2026-11-21T09:30:00Z) or now, not '${text}'`);
  }
  return at;
}

/** A log position: a non-negative integer. */
export function parsePosition(text: string, field: string): number {
  const value = text.trim();
  const position = Number(value);
  if (!/^\d+$/.test(value) || position > MAX_POSITION) {
    throw new AuditInputError(`${field} must be a log position (a non-negative integer), not '${text}'`);
  }
  return position;
}

/** `--at`: digits are a log position, anything else a time. */
export function parseMoment(text: string, field = 'at'): Moment {
  return /^\s*\d+\s*$/.test(text)
    ? { kind: 'position', position: parsePosition(text, field) }
    : { kind: 'time', at: parseTime(text, field) };
}

export function describeMoment(moment: Moment): string {
  return moment.kind === 'time' ? moment.at.toISOString() : `position ${moment.position}`;
}
