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
