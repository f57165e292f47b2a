import type { SchemaObject } from '@nestjs/swagger';

/** The bodies of the main endpoints, as JSON Schema (OpenAPI 3.0): what the document promises. */

const text: SchemaObject = { type: 'string' };
const nullableText: SchemaObject = { type: 'string', nullable: true };
const timestamp: SchemaObject = {
  type: 'string',
  description: "Cyborg's timestamp, e.g. 2026-11-21T02:58:39.876000+00:00",
};
const uuid: SchemaObject = { type: 'string', format: 'uuid' };
const links: SchemaObject = {
  type: 'array',
  items: {
    type: 'object',
    required: ['href', 'rel'],
    properties: { href: text, rel: text },
  },
};

const object = (properties: Record<string, SchemaObject>, extra: Partial<SchemaObject> = {}): SchemaObject => ({
  type: 'object',
  required: Object.keys(properties),
  properties,
  ...extra,
});

export const ErrorBody: SchemaObject = object(
  { error_message: { type: 'string', description: 'A JSON document with `faultstring` (Cyborg) or the message' } },
  { description: "Cyborg's error shape" },
);

export const ArqBody = object({
  uuid,
  state: { type: 'string', enum: ['Initial', 'BindStarted', 'Bound', 'BindFailed', 'Unbound', 'Deleting'] },
  device_profile_name: text,
  device_profile_group_id: { type: 'integer' },
  hostname: nullableText,
  device_rp_uuid: nullableText,
  instance_uuid: nullableText,
  project_id: nullableText,
  attach_handle_type: text,
  attach_handle_uuid: nullableText,
  attach_handle_info: { type: 'object', additionalProperties: { type: 'string' } },
  created_at: timestamp,
  updated_at: { ...timestamp, nullable: true },
  links,
});

export const DeviceProfileBody = object({
  uuid,
  name: text,
  description: nullableText,
  groups: { type: 'array', items: { type: 'object', additionalProperties: { type: 'string' } } },
  created_at: timestamp,
  updated_at: { ...timestamp, nullable: true },
  links,
});

const deviceProperties: Record<string, SchemaObject> = {
  uuid,
  type: text,
  vendor: text,
  model: text,
  std_board_info: nullableText,
  vendor_board_info: nullableText,
  hostname: text,
  created_at: timestamp,
  updated_at: { ...timestamp, nullable: true },
  links,
};
export const DeviceBody: SchemaObject = {
  ...object(deviceProperties),
  properties: { ...deviceProperties, status: { type: 'string', description: 'From microversion 2.3' } },
};

export const DeployableBody = object({
  uuid,
  parent_id: { type: 'integer', nullable: true },
  root_id: { type: 'integer', nullable: true },
  name: text,
  num_accelerators: { type: 'integer' },
  device_id: { type: 'integer', nullable: true },
  attributes_list: text,
  rp_uuid: nullableText,
  driver_name: nullableText,
  bitstream_id: nullableText,
  created_at: timestamp,
  updated_at: { ...timestamp, nullable: true },
  links,
});

const version = object({
  id: text,
  status: text,
  max_version: text,
  min_version: text,
  links,
});
export const VersionsBody = object({
  name: text,
  description: text,
  versions: { type: 'array', items: version },
  default_version: version,
});
export const V2Body = version;

const check: SchemaObject = {
  type: 'object',
  required: ['ok'],
  properties: { ok: { type: 'boolean' }, latency_ms: { type: 'number' }, error: text },
};
export const HealthBody = object({
  status: { type: 'string', enum: ['ok', 'degraded'] },
  checks: object({ postgres: check, nats: check }),
  projections: {
    type: 'array',
    items: object({
      name: text,
      active: { type: 'boolean' },
      lag: { type: 'integer' },
      position: { type: 'integer' },
      last_error: nullableText,
    }),
  },
});
export const LiveBody = object({ status: { type: 'string', enum: ['ok'] }, service: text });

export const AuditEventBody: SchemaObject = {
  type: 'object',
  required: ['position', 'event_id', 'stream_id', 'type', 'schema_version', 'occurred_at', 'who', 'why', 'data'],
  properties: {
    position: { type: 'integer' },
    event_id: uuid,
    stream_id: text,
    category: text,
    version: { type: 'integer' },
    type: text,
    schema_version: { type: 'integer' },
    occurred_at: text,
    summary: text,
    who: { type: 'object' },
    why: {
      type: 'object',
      properties: { request_id: nullableText, command_id: nullableText, command: nullableText, reason: nullableText },
    },
    data: { type: 'object' },
    metadata: { type: 'object' },
  },
};

export const list = (key: string, items: SchemaObject): SchemaObject => object({ [key]: { type: 'array', items } });

// The project's own endpoints.

const integer: SchemaObject = { type: 'integer' };
const nullableInteger: SchemaObject = { type: 'integer', nullable: true };
const bool: SchemaObject = { type: 'boolean' };
const texts: SchemaObject = { type: 'array', items: text };
const anyObject: SchemaObject = { type: 'object' };

export const AttributeBody = object({
  uuid,
  deployable_id: nullableInteger,
  key: text,
  value: text,
  created_at: timestamp,
  updated_at: { ...timestamp, nullable: true },
  links,
});

const who = object({ user_id: nullableText, project_id: nullableText, roles: texts }, { additionalProperties: true });
const why: SchemaObject = {
  type: 'object',
  properties: { request_id: nullableText, command_id: nullableText, command: nullableText, reason: nullableText },
};

export const HistoryBody = object({
  kind: { type: 'string', enum: ['arq', 'device', 'deployable', 'host', 'profile'] },
  id: text,
  streams: texts,
  entries: {
    type: 'array',
    items: object({
      at: text,
      position: integer,
      stream_id: text,
      version: integer,
      event_id: uuid,
      type: text,
      schema_version: integer,
      summary: text,
      who,
      why,
      changes: {
        type: 'object',
        additionalProperties: { type: 'object', required: ['from', 'to'], properties: { from: {}, to: {} } },
      },
    }),
  },
});

export const StateAtBody = object({
  kind: { type: 'string', enum: ['arq', 'device', 'host'] },
  id: text,
  at: text,
  as_of: {
    ...object({ position: integer, occurred_at: text, stream_id: text, version: integer, type: text }),
    nullable: true,
  },
  exists: bool,
  state: { ...anyObject, nullable: true, description: 'The ARQ, device or host as the last event folded left it' },
});

const counts = {
  accelerators_held: integer,
  devices_held: integer,
  binds: integer,
  accelerator_hours: { type: 'number' },
};
const usageProperties: Record<string, SchemaObject> = {
  since: text,
  until: text,
  projects: {
    type: 'array',
    items: object({
      project_id: nullableText,
      ...counts,
      resources: { type: 'array', items: object({ resource_class: text, device_type: text, ...counts }) },
    }),
  },
};
export const UsageBody: SchemaObject = {
  ...object(usageProperties),
  properties: {
    ...usageProperties,
    quota: {
      type: 'array',
      description: 'With Keystone unified limits (KEYSTONE_AUTH_URL set)',
      items: object({ project_id: text, resource: text, in_use: integer, limit: nullableInteger }),
    },
  },
};

const latency = object({
  p50: { type: 'number' },
  p90: { type: 'number' },
  p99: { type: 'number' },
  max: { type: 'number' },
  mean: { type: 'number' },
});
export const BindsBody = object({
  since: nullableText,
  until: nullableText,
  binds: {
    type: 'array',
    items: object({
      arq_uuid: uuid,
      attempt: integer,
      hostname: text,
      instance_uuid: text,
      started_at: text,
      started_position: integer,
      ended_at: nullableText,
      outcome: { type: 'string', enum: ['bound', 'failed', 'interrupted', 'in_progress'] },
      duration_ms: { type: 'number', nullable: true },
      reason: nullableText,
    }),
  },
  summary: object({
    started: integer,
    bound: integer,
    failed: integer,
    interrupted: integer,
    in_progress: integer,
    latency_ms: { ...latency, nullable: true },
  }),
  throughput: {
    type: 'array',
    items: object({ minute: text, bound: integer, failed: integer, interrupted: integer }),
  },
  truncated: bool,
});

const hostProperties: Record<string, SchemaObject> = {
  hostname: text,
  up: bool,
  last_heartbeat_at: nullableText,
  liveness_changed_at: nullableText,
  agent_version: nullableText,
  drivers: texts,
  registered_at: nullableText,
  devices: integer,
  deployables: integer,
  attach_handles: integer,
  attach_handles_in_use: integer,
};
export const HostBody = object(hostProperties);

const attachHandle = object({
  uuid,
  type: text,
  attach_info: text,
  in_use: bool,
  draining: bool,
  arq_uuid: nullableText,
  arq_state: nullableText,
  instance_uuid: nullableText,
  project_id: nullableText,
});
const deployableNode: SchemaObject = object({
  uuid,
  name: text,
  num_accelerators: integer,
  rp_uuid: text,
  driver_name: nullableText,
  bitstream_id: nullableText,
  attributes: { type: 'array', items: object({ key: text, value: text }) },
  attach_handles: { type: 'array', items: attachHandle },
  // The tree nests: children are deployable nodes too (left open so the schema stays finite).
  children: { type: 'array', items: anyObject },
});
export const HostDetailBody = object({
  ...hostProperties,
  devices_tree: {
    type: 'array',
    items: object({
      uuid,
      type: text,
      vendor: text,
      model: text,
      status: text,
      std_board_info: nullableText,
      deployables: { type: 'array', items: deployableNode },
    }),
  },
});

export const HostSyncBody = object({
  hostname: text,
  state: { type: 'string', enum: ['synced', 'waiting_for_compute_node', 'draining', 'error', 'pending'] },
  computeNodeUuid: nullableText,
  streamVersion: integer,
  syncedVersion: nullableInteger,
  syncedSequence: nullableInteger,
  providers: integer,
  drainingProviders: { type: 'array', items: object({ uuid, name: text, consumers: texts }) },
  lastError: nullableText,
  lastErrorRequestId: nullableText,
  lastErrorAt: nullableText,
  lastSyncedAt: nullableText,
});

export const LogReadersBody = object({
  head: object({ position: integer, occurred_at: nullableText }),
  readers: {
    type: 'array',
    items: object({
      name: text,
      kind: { type: 'string', enum: ['projection', 'relay', 'processor'] },
      position: integer,
      lag: integer,
      lag_seconds: { type: 'number', nullable: true },
      events_handled: integer,
      active: { type: 'boolean', nullable: true },
      rebuilding: { type: 'boolean', nullable: true },
      updated_at: nullableText,
      last_error: nullableText,
      last_error_at: nullableText,
    }),
  },
});

const BindCounts: SchemaObject = {
  type: 'array',
  items: object({ outcome: text, reason: text, count: { type: 'number' } }),
};
const BindDurations: SchemaObject = {
  type: 'array',
  items: object({
    outcome: text,
    buckets: { type: 'array', items: { type: 'number' } },
    count: { type: 'number' },
    sum_seconds: { type: 'number' },
  }),
};

export const BindMetricsBody = object({
  sampled_at: text,
  sources: {
    type: 'array',
    description:
      'Each source with its own series (where it answered; `error` where not): take differences per source, then add',
    items: object(
      { source: text, ok: bool },
      {
        properties: {
          source: text,
          ok: bool,
          error: text,
          started_at: { ...text, description: 'When its process started: a later one means its counters restarted' },
          binds: BindCounts,
          duration: BindDurations,
        },
      },
    ),
  },
  binds: BindCounts,
  duration: object({ le: { type: 'array', items: { type: 'number' } }, outcomes: BindDurations }),
});

export const ReshapeBody = object({
  reshape_id: text,
  device_uuid: uuid,
  state: text,
  vgpu_type: nullableText,
  mig_profiles: { type: 'array', items: text, nullable: true },
  num_vfs: nullableInteger,
  when_busy: text,
  waiting_for: { type: 'array', items: text },
});

export const ConsoleSessionBody = object({
  auth_strategy: text,
  signed_in: bool,
  user: { ...object({ id: nullableText, name: nullableText }), nullable: true },
  project: { ...object({ id: nullableText, name: nullableText }), nullable: true },
  roles: texts,
  admin: bool,
  expires_at: nullableText,
  csrf_token: text,
});

export const EventStreamBody: SchemaObject = {
  type: 'string',
  description:
    'Server-sent events: `event: ready` (data `{"position": n}`) once the backlog is sent, then one ' +
    '`event: event` per event appended (id `transaction:position`, data an audit event as in GET /v2/events); ' +
    "`event: error` (data in Cyborg's error shape) before the stream ends on a failure.",
};

export const OpenApiBody: SchemaObject = object(
  { openapi: { type: 'string', pattern: '^3\\.' }, info: anyObject, paths: anyObject },
  { description: 'This OpenAPI 3 document' },
);
