import { isAdmin } from '@cyborg/contracts';
import type { EventData, EventMetadata, RecordedEvent } from '@cyborg/event-store';
import type { AuditLog } from './audit-log';
import { summarize } from './summaries';

/** Who caused an event, from its metadata. */
export interface Who {
  user_id: string | null;
  project_id: string | null;
  roles: string[];
  /** A service token came with the request (Nova, an agent, the conductor itself). */
  service: boolean;
  /** In one word for tables: the user, else `admin`, `service` or `-`. */
  actor: string;
}

/** Why: the request and command that caused an event, and a reason when one was given. */
export interface Why {
  request_id: string | null;
  command_id: string | null;
  /** The command's type (`bind_arqs`, `report_inventory`, ...); null for events the conductor decided alone. */
  command: string | null;
  reason: string | null;
}

/** An event as operators read it: the log row (upcast to its current schema), who and why, and a summary. */
export interface AuditEvent {
  position: number;
  transaction_id: string;
  event_id: string;
  stream_id: string;
  category: string;
  version: number;
  type: string;
  schema_version: number;
  occurred_at: string;
  summary: string;
  who: Who;
  why: Why;
  data: EventData;
  metadata: EventMetadata;
  hash: string;
  prev_hash: string | null;
}

export function whoOf(metadata: EventMetadata): Who {
  const roles = metadata.roles ?? [];
  const actor = metadata.userId ?? (isAdmin(roles) ? 'admin' : metadata.service ? 'service' : '-');
  return {
    user_id: metadata.userId ?? null,
    project_id: metadata.projectId ?? null,
    roles,
    service: metadata.service === true,
    actor,
  };
}

export function whyOf(event: Pick<RecordedEvent, 'type' | 'data' | 'metadata'>, commands: CommandTypes): Why {
  const { metadata } = event;
  const commandId = metadata.commandId ?? null;
  // A failed bind carries its reason in the event itself.
  const dataReason = typeof event.data.reason === 'string' ? event.data.reason : null;
  return {
    request_id: metadata.requestId ?? null,
    command_id: commandId,
    command: commandId ? (commands.get(commandId) ?? null) : null,
    reason: metadata.reason ?? dataReason,
  };
}

export function auditEventOf(event: RecordedEvent, commands: CommandTypes): AuditEvent {
  return {
    position: event.position,
    transaction_id: event.transactionId,
    event_id: event.eventId,
    stream_id: event.streamId,
    category: event.category,
    version: event.version,
    type: event.type,
    schema_version: event.schemaVersion,
    occurred_at: event.occurredAt.toISOString(),
    summary: summarize(event.type, event.data),
    who: whoOf(event.metadata),
    why: whyOf(event, commands),
    data: event.data,
    metadata: event.metadata,
    hash: event.hash,
    prev_hash: event.prevHash,
  };
}

/** Command id → command type, for the commands that caused some events. */
export type CommandTypes = ReadonlyMap<string, string>;

/** The types of the commands behind `events`, from the commands table (recorded with each command's events). */
export async function commandTypesOf(log: AuditLog, events: readonly RecordedEvent[]): Promise<CommandTypes> {
  const ids = [...new Set(events.map((e) => e.metadata.commandId).filter((id): id is string => !!id))];
  if (ids.length === 0) return new Map();
  const rows = await log.rows<{ command_id: string; command_type: string }>(
    `SELECT command_id, command_type FROM commands WHERE command_id = ANY($1::text[])`,
    [ids],
  );
  return new Map(rows.map((r) => [r.command_id, r.command_type]));
}
