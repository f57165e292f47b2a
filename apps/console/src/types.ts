/** The REST API's answers the console reads, as the API sends them (snake_case, Cyborg's shapes). */

export interface Session {
  auth_strategy: string;
  signed_in: boolean;
  user: { id: string | null; name: string | null } | null;
  project: { id: string | null; name: string | null } | null;
  roles: string[];
  admin: boolean;
  expires_at: string | null;
  csrf_token: string;
}

export interface Host {
  hostname: string;
  up: boolean;
  last_heartbeat_at: string | null;
  liveness_changed_at: string | null;
  agent_version: string | null;
  drivers: string[];
  registered_at: string | null;
  devices: number;
  deployables: number;
  attach_handles: number;
  attach_handles_in_use: number;
}

export interface AttachHandle {
  uuid: string;
  type: string;
  attach_info: string;
  in_use: boolean;
  draining: boolean;
  arq_uuid: string | null;
  arq_state: string | null;
  instance_uuid: string | null;
  project_id: string | null;
}

export interface DeployableNode {
  uuid: string;
  name: string;
  num_accelerators: number;
  rp_uuid: string;
  driver_name: string | null;
  bitstream_id: string | null;
  attributes: { key: string; value: string }[];
  attach_handles: AttachHandle[];
  children: DeployableNode[];
}

export interface HostDetail extends Host {
  devices_tree: {
    uuid: string;
    type: string;
    vendor: string;
    model: string;
    status: string;
    std_board_info: string | null;
    deployables: DeployableNode[];
  }[];
}

export interface Arq {
  uuid: string;
  state: string;
  device_profile_name: string;
  device_profile_group_id: number;
  hostname: string | null;
  device_rp_uuid: string | null;
  instance_uuid: string | null;
  project_id?: string | null;
  attach_handle_type: string;
  attach_handle_uuid: string | null;
  created_at: string;
  updated_at: string | null;
}

export interface Who {
  user_id: string | null;
  project_id: string | null;
  roles: string[];
  service: boolean;
  actor: string;
}

export interface Why {
  request_id: string | null;
  command_id: string | null;
  command: string | null;
  reason: string | null;
}

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
  data: Record<string, unknown>;
}

export interface HistoryEntry {
  at: string;
  position: number;
  stream_id: string;
  version: number;
  event_id: string;
  type: string;
  schema_version: number;
  summary: string;
  who: Who;
  why: Why;
  changes: Record<string, { from: unknown; to: unknown }>;
}

export interface History {
  kind: string;
  id: string;
  streams: string[];
  entries: HistoryEntry[];
}

export interface StateAt {
  kind: string;
  id: string;
  at: string;
  as_of: { position: number; occurred_at: string; stream_id: string; version: number; type: string } | null;
  exists: boolean;
  state: Record<string, unknown> | null;
}

export interface LogReader {
  name: string;
  kind: 'projection' | 'relay' | 'processor';
  position: number;
  lag: number;
  lag_seconds: number;
  events_handled: number;
  active: boolean | null;
  rebuilding: boolean | null;
  updated_at: string | null;
  last_error: string | null;
  last_error_at: string | null;
}

export interface LogReaders {
  head: { position: number; occurred_at: string | null };
  readers: LogReader[];
}

export interface PlacementSyncHost {
  hostname: string;
  [field: string]: unknown;
}

export interface BindRecord {
  arq_uuid: string;
  attempt: number;
  hostname: string;
  instance_uuid: string;
  started_at: string;
  ended_at: string | null;
  outcome: 'bound' | 'failed' | 'interrupted' | 'in_progress';
  duration_ms: number | null;
  reason: string | null;
}

export interface BindReport {
  since: string | null;
  until: string | null;
  binds: BindRecord[];
  summary: {
    started: number;
    bound: number;
    failed: number;
    interrupted: number;
    in_progress: number;
    latency_ms: { p50: number; p90: number; p99: number; max: number; mean: number } | null;
  };
  throughput: { minute: string; bound: number; failed: number; interrupted: number }[];
  truncated: boolean;
}

/** `GET /v2/bind_metrics`: the bind counters and duration histogram now, of the API and each conductor, and their sums. */
export interface BindMetricsSample {
  sampled_at: string;
  /** Each source's own series: rates are taken per source, then added (a restart of one is not a fall of the sum). */
  sources: BindMetricsSource[];
  binds: BindCount[];
  duration: { le: number[]; outcomes: BindDurationSeries[] };
}

export interface BindCount {
  outcome: string;
  reason: string;
  count: number;
}

export interface BindDurationSeries {
  outcome: string;
  buckets: number[];
  count: number;
  sum_seconds: number;
}

export interface BindMetricsSource {
  source: string;
  ok: boolean;
  error?: string;
  /** When its process started: a later one means its counters began again at zero. */
  started_at?: string;
  binds?: BindCount[];
  duration?: BindDurationSeries[];
}
