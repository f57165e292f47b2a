import { hostname } from 'node:os';
import { plainToInstance, Transform } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsJSON,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  Min,
  MinLength,
  ValidateIf,
  validateSync,
  ValidateBy,
} from 'class-validator';
import { choosesHost, parseDatabaseUrl } from './database-url';

const toInt = ({ value }: { value: unknown }) => (value === undefined || value === '' ? undefined : Number(value));
const toBool = ({ value }: { value: unknown }) => {
  if (typeof value !== 'string') return value;
  const word = value.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(word)) return true;
  if (['false', '0', 'no', 'off'].includes(word)) return false;
  return word === '' ? undefined : value;
};
const toList = ({ value }: { value: unknown }) =>
  typeof value === 'string'
    ? value
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== '')
    : value;
const emptyToUndefined = ({ value }: { value: unknown }) => (value === '' ? undefined : value);

/** One host or libpq's multi-host list (`h1:5432,h2:5432`, with `target_session_attrs`). */
const IsDatabaseUrl = () =>
  ValidateBy({
    name: 'isDatabaseUrl',
    validator: {
      validate: (value: unknown) => {
        try {
          return typeof value === 'string' && (!choosesHost(value) || parseDatabaseUrl(value) !== undefined);
        } catch {
          return false;
        }
      },
      defaultMessage: (args) => {
        try {
          parseDatabaseUrl(String(args?.value));
          return '';
        } catch (error) {
          return `DATABASE_URL ${(error as Error).message}`;
        }
      },
    },
  });

/**
 * Every setting, read from the environment. Defaults work on one machine
 * with PostgreSQL and NATS on their standard local ports.
 */
export class Settings {
  /** PostgreSQL holding the event log and the read models; the database is created if missing. */
  @IsString()
  @Matches(/^postgres(ql)?:\/\//, { message: 'DATABASE_URL must be a postgres:// URL' })
  @IsDatabaseUrl()
  DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/cyborg';

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(200)
  DATABASE_POOL_SIZE = 10;

  /** Comma-separated NATS servers (JetStream enabled). */
  @IsString()
  NATS_URL = 'nats://127.0.0.1:4222';

  /**
   * The address the API listens on. Unset: `127.0.0.1` under noauth (anyone
   * who reaches a noauth API is whoever they say), every interface otherwise.
   */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  API_HOST!: string;

  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  API_PORT = 6666;

  /**
   * `keystone`: every request's X-Auth-Token validated against Keystone,
   * identity from the token only. `noauth`: identity from the request
   * headers keystonemiddleware would set (one machine, tests). Unset:
   * `keystone` when KEYSTONE_AUTH_URL is set, else `noauth`, so configuring
   * Keystone never leaves the API trusting headers.
   */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsIn(['noauth', 'keystone'], { message: 'AUTH_STRATEGY must be keystone or noauth' })
  AUTH_STRATEGY!: 'noauth' | 'keystone';

  /**
   * oslo.policy's `enforce_scope`: a token of a scope a rule is not for
   * (a system-scoped token: every rule is for projects) is refused; false
   * lets the rule's check decide and logs a warning.
   */
  @Transform(toBool)
  @IsBoolean({ message: 'POLICY_ENFORCE_SCOPE must be true or false' })
  POLICY_ENFORCE_SCOPE = true;

  /**
   * oslo.policy's `enforce_new_defaults`: only the 2023 secure-RBAC defaults
   * count; false ORs each rule's pre-2023 check in (any token of a project
   * passes the persona rules), as upstream master does in its transition.
   */
  @Transform(toBool)
  @IsBoolean({ message: 'POLICY_ENFORCE_NEW_DEFAULTS must be true or false' })
  POLICY_ENFORCE_NEW_DEFAULTS = true;

  /** An operator policy file (YAML or JSON: rule name -> oslo.policy check string) overriding the defaults. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  POLICY_FILE?: string;

  /** Keystone's identity endpoint (v3), where the services' service user logs in and tokens are validated. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsUrl({ require_tld: false, require_protocol: true })
  KEYSTONE_AUTH_URL?: string;

  /**
   * The `uri` of the `WWW-Authenticate: Keystone uri="..."` header of a 401
   * (keystonemiddleware's `www_authenticate_uri`): where clients get tokens.
   * Unset: KEYSTONE_AUTH_URL without its `/v3`.
   */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsUrl({ require_tld: false, require_protocol: true })
  KEYSTONE_WWW_AUTHENTICATE_URI?: string;

  /** The service user the services authenticate as (password login, with SERVICE_PASSWORD). */
  @IsString()
  SERVICE_USERNAME = 'cyborg';

  /** The service user's password; never logged. Unused when an application credential is set. */
  @IsString()
  SERVICE_PASSWORD = '';

  /** The project the service user's token is scoped to. */
  @IsString()
  SERVICE_PROJECT_NAME = 'service';

  @IsString()
  @MinLength(1)
  SERVICE_USER_DOMAIN_NAME = 'Default';

  @IsString()
  @MinLength(1)
  SERVICE_PROJECT_DOMAIN_NAME = 'Default';

  /** An application credential to authenticate with instead of the password (with its secret). */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  SERVICE_APPLICATION_CREDENTIAL_ID?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  SERVICE_APPLICATION_CREDENTIAL_SECRET?: string;

  /** Which catalog endpoints the services use. */
  @IsIn(['public', 'internal', 'admin'], { message: 'KEYSTONE_INTERFACE must be public, internal or admin' })
  KEYSTONE_INTERFACE: 'public' | 'internal' | 'admin' = 'public';

  /** The catalog region the services use; unset takes the first endpoint of any region. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  KEYSTONE_REGION_NAME?: string;

  /** Comma-separated roles that make an X-Service-Token count (keystonemiddleware's `service_token_roles`). */
  @IsString()
  @Matches(/^\s*[^,\s]+(\s*,\s*[^,\s]+)*\s*$/, {
    message: 'SERVICE_TOKEN_ROLES must be role names, comma-separated',
  })
  SERVICE_TOKEN_ROLES = 'service';

  /**
   * How long a validated token's answer is reused, in seconds: a revoked
   * token keeps working for at most this long; 0 asks Keystone every time.
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(3600)
  TOKEN_CACHE_TTL_SECONDS = 60;

  /**
   * How long a project's quota limits read from Keystone's unified limits
   * are reused, in seconds: a changed limit counts after at most this long.
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(3600)
  QUOTA_LIMITS_CACHE_SECONDS = 10;

  /**
   * The built web console (`npm run build` writes it to `dist/console`) that
   * the API serves under `/console`; unset: the package's own `dist/console`.
   */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  CONSOLE_DIR?: string;

  /**
   * Marks the console's session cookies `Secure` (sent over HTTPS only). Leave
   * it on behind a TLS-terminating proxy; `false` only for plain HTTP on one machine.
   */
  @Transform(toBool)
  @IsBoolean()
  CONSOLE_COOKIE_SECURE = false;

  /** Live event streams (`GET /v2/events/stream`) the API serves at once; each holds a database session. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1000)
  EVENT_STREAM_MAX_CLIENTS = 32;

  /** OpenStack Placement; unset: the catalog's `placement` with KEYSTONE_AUTH_URL, else placement-sync is off. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsUrl({ require_tld: false, require_protocol: true })
  PLACEMENT_URL?: string;

  /** How often placement-sync compares every host's providers in Placement with the desired ones and repairs drift. */
  @Transform(toInt)
  @IsInt()
  @Min(1000)
  PLACEMENT_RECONCILE_INTERVAL_MS = 300_000;

  /** Longest wait before placement-sync retries a host that failed, waits for its compute node, or drains. */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  PLACEMENT_RETRY_MAX_MS = 60_000;

  /**
   * How often a standby placement-sync tries to take over (one active
   * across processes): the longest it waits once the active one is gone.
   */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  PLACEMENT_SYNC_STANDBY_POLL_MS = 1000;

  /** Nova API, notified when binds resolve; unset: the catalog's `compute` with KEYSTONE_AUTH_URL, else skipped. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsUrl({ require_tld: false, require_protocol: true })
  NOVA_URL?: string;

  /** X-Auth-Token sent to Nova without KEYSTONE_AUTH_URL (noauth set-ups: nothing renews it); empty sends none. */
  @IsString()
  NOVA_AUTH_TOKEN = '';

  @Transform(toInt)
  @IsInt()
  @Min(100)
  RPC_TIMEOUT_MS = 5000;

  @Transform(toInt)
  @IsInt()
  @Min(1000)
  BIND_TIMEOUT_MS = 60_000;

  /**
   * A bind that ran this long without ending is taken over by any
   * conductor's periodic sweep, in case the conductor that drives it is
   * gone (driving it twice is harmless); after a conductor dies, its binds
   * resume within this and half as much again.
   */
  @Transform(toInt)
  @IsInt()
  @Min(1000)
  BIND_TAKEOVER_AFTER_MS = 15_000;

  /**
   * A device fenced for being unhealthy stays fenced after it recovers, until
   * an admin releases it (`POST /v2/devices/{uuid}/health/release`); false
   * lifts the fence as soon as the driver reports it healthy or degraded.
   */
  @Transform(toBool)
  @IsBoolean({ message: 'HEALTH_FENCE_STICKY must be true or false' })
  HEALTH_FENCE_STICKY = false;

  /** How long an admin's device reshape may take on the agent (apply, then report the new inventory). */
  @Transform(toInt)
  @IsInt()
  @Min(1000)
  RESHAPE_TIMEOUT_MS = 120_000;

  /**
   * How often the conductor looks for reshapes recorded but never applied
   * (their conductor stopped) whose device is free, and resumes them; it
   * also does so at start.
   */
  @Transform(toInt)
  @IsInt()
  @Min(1000)
  RESHAPE_SWEEP_INTERVAL_MS = 60_000;

  /** How long a write's answer waits for the read models to show it. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  READ_YOUR_WRITES_TIMEOUT_MS = 2000;

  @Transform(toInt)
  @IsInt()
  @Min(10)
  PROJECTION_POLL_MS = 500;

  /** JetStream de-duplication window of the events stream. */
  @Transform(toInt)
  @IsInt()
  @Min(1000)
  EVENTS_DUPLICATE_WINDOW_MS = 600_000;

  /** The JetStream stream the log is relayed into; two deployments on one NATS name different ones. */
  @Matches(/^[A-Za-z0-9_-]{1,64}$/, {
    message: 'EVENTS_STREAM_NAME must be 1-64 letters, digits, _ or - (a JetStream stream name)',
  })
  EVENTS_STREAM_NAME = 'CYBORG_EVENTS';

  /** Events are published on `<prefix>.<category>.<type>`; no two deployments on one NATS share a prefix. */
  @Matches(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, {
    message: 'EVENTS_SUBJECT_PREFIX must be NATS subject tokens (letters, digits, _ or -) joined by dots',
  })
  EVENTS_SUBJECT_PREFIX = 'cyborg.events';

  /**
   * Replicas of the events stream and of every durable consumer on it: 1 on
   * one nats-server, 3 (or 5) on a JetStream cluster of at least that many.
   */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(5)
  JETSTREAM_REPLICAS = 1;

  /**
   * How often the conductor anchors the log in JetStream (CYBORG_EVENTS_ANCHORS:
   * the digest of every event's hash up to the newest event), when it moved
   * since the last anchor; 0 turns anchoring off.
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(86_400_000)
  ANCHOR_INTERVAL_MS = 30_000;

  /**
   * Signs every anchor (HMAC-SHA256) and is what `cyborg verify` checks them
   * with. Give it to the conductor and the operator, never to the database:
   * without it no one can forge an anchor. Empty: anchors are unsigned.
   */
  @IsString()
  @Matches(/^$|^.{32,}$/s, {
    message: 'ANCHOR_SIGNING_KEY must be at least 32 characters (or empty: unsigned anchors)',
  })
  ANCHOR_SIGNING_KEY = '';

  /** The host this agent serves; its work arrives on cyborg.agent.<host>.*. */
  @IsString()
  @Matches(/^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/, { message: 'AGENT_HOSTNAME must be a DNS hostname' })
  AGENT_HOSTNAME = hostname();

  /** Comma-separated drivers the agent loads. */
  @IsString()
  AGENT_DRIVERS = 'fake,simulated';

  @Transform(toInt)
  @IsInt()
  @Min(1000)
  AGENT_REPORT_INTERVAL_MS = 60_000;

  /**
   * Where the agent fetches bitstreams to program: `glance` (the catalog's, with KEYSTONE_AUTH_URL),
   * `glance+http(s)://<Glance endpoint>`,
   * `file:///<directory>` or `http(s)://<base>/` (see README "Programming"). Unset: programming fails, saying so.
   */
  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^(glance|(glance\+https?:\/\/|file:\/\/|https?:\/\/)\S+)$/, {
    message: 'BITSTREAM_SOURCE must be glance or start with glance+http(s)://, file:// or http(s)://',
  })
  BITSTREAM_SOURCE?: string;

  /** X-Auth-Token sent to Glance for bitstreams without KEYSTONE_AUTH_URL (noauth set-ups); empty sends none. */
  @IsString()
  BITSTREAM_AUTH_TOKEN = '';

  /** How long an operator's program request may take (fetch, verify, program). */
  @Transform(toInt)
  @IsInt()
  @Min(1000)
  PROGRAM_TIMEOUT_MS = 300_000;

  /** How often an agent tells the conductors it is alive. */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  AGENT_HEARTBEAT_INTERVAL_MS = 10_000;

  /** A host unheard for this long is marked down: binds to it fail at once until it is heard again. */
  @Transform(toInt)
  @IsInt()
  @Min(500)
  HOST_DOWN_AFTER_MS = 45_000;

  /**
   * Hosts whose folded state a conductor keeps in memory: an unchanged report
   * from a host past it reads the host's whole stream. At least the hosts a
   * conductor serves.
   */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  CONDUCTOR_HOST_STATES_CACHED = 20_000;

  /** The host description the `simulated` driver reads (YAML), relative to the working directory. */
  @IsString()
  @MinLength(1)
  AGENT_SIMULATED_HOST_FILE = 'deploy/simulated-host.yaml';

  /** The sysfs the `pci`, `nvidia_gpu`, `intel_fpga` and `xilinx_fpga` drivers read. */
  @IsString()
  @MinLength(1)
  AGENT_SYSFS_ROOT = '/sys';

  /** The `pci` driver's whitelist in Nova's `[pci] device_spec` syntax: a JSON list of objects. */
  @IsJSON({ message: 'AGENT_PCI_DEVICE_SPEC must be a JSON list of Nova device_spec objects' })
  AGENT_PCI_DEVICE_SPEC = '[]';

  /** vGPU types the `nvidia_gpu` driver offers, comma-separated: `nvidia-223` (any GPU) or `nvidia-223@0000:3b:00.0`. */
  @IsString()
  @Matches(/^\s*(?:[A-Za-z0-9][\w.-]*(?:@[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7])?\s*(?:,\s*|$))*$/, {
    message: 'AGENT_NVIDIA_VGPU_TYPES must list mdev types like nvidia-223 or nvidia-223@0000:3b:00.0, comma-separated',
  })
  AGENT_NVIDIA_VGPU_TYPES = '';

  /** `nvidia-smi`, read (`-q -x`) for GPU health: ECC, row remapping, lost GPUs; empty turns that off. */
  @IsString()
  AGENT_NVIDIA_SMI_PATH = 'nvidia-smi';

  @IsString()
  @MinLength(1)
  AGENT_LSPCI_PATH = 'lspci';

  @IsString()
  @MinLength(1)
  AGENT_FPGACONF_PATH = '/usr/bin/fpgaconf';

  /** A kernel log file (`/var/log/kern.log`) the `nvidia_gpu` driver reads XID events from; empty: none. */
  @IsString()
  AGENT_NVIDIA_XID_LOG = '';

  /** XRT's `xrt-smi` (or `xbutil` before XRT 2025.1): loads a user's xclbin through the card's user PF. */
  @IsString()
  @MinLength(1)
  AGENT_XRT_SMI_PATH = '/opt/xilinx/xrt/bin/xrt-smi';

  /** Address of the conductor's own port (/metrics, /healthz/live, /healthz/ready): unauthenticated, so loopback by default. */
  @IsString()
  @MinLength(1)
  CONDUCTOR_METRICS_HOST = '127.0.0.1';

  /** The conductor's metrics and health port when it runs alone (`npm start` serves everything on API_PORT). */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  CONDUCTOR_METRICS_PORT = 9466;

  /**
   * The conductors' metrics ports (`http://conductor:9466`, comma-separated) whose bind metrics the API
   * sums for the console when the conductors run as processes of their own; empty: this process's only
   * (`npm start`, where the conductor records into the API's registry).
   */
  @Transform(toList)
  @IsUrl({ require_tld: false, require_protocol: true, protocols: ['http', 'https'] }, { each: true })
  CONDUCTOR_METRICS_URLS: string[] = [];

  /** Address of the agent's own port (/metrics, /healthz/live, /healthz/ready): unauthenticated, so loopback by default. */
  @IsString()
  @MinLength(1)
  AGENT_METRICS_HOST = '127.0.0.1';

  /** The agent's metrics and health port when it runs alone (`npm start` serves everything on API_PORT). */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  AGENT_METRICS_PORT = 9467;

  /** Address of the placement-sync's own port (/metrics, /healthz/live, /healthz/ready): unauthenticated, so loopback by default. */
  @IsString()
  @MinLength(1)
  PLACEMENT_SYNC_METRICS_HOST = '127.0.0.1';

  /** The placement-sync's metrics and health port when it runs alone (`npm start` serves everything on API_PORT). */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  PLACEMENT_SYNC_METRICS_PORT = 9468;

  /**
   * A bearer token every `/metrics` (the API's and each service's own port)
   * asks of its scraper (Prometheus's `authorization`); the API sends it to
   * the conductors' ports too. Empty: the API's `/metrics` is refused under
   * keystone unless METRICS_OPEN, and the services' ports answer anyone.
   */
  @IsString()
  @ValidateIf((s: Settings) => s.METRICS_TOKEN !== '')
  @MinLength(16, { message: 'METRICS_TOKEN must be at least 16 characters (or empty for none)' })
  METRICS_TOKEN = '';

  /** Serves the API's `/metrics` to anyone under keystone without METRICS_TOKEN, as oslo.middleware's healthcheck is. */
  @Transform(toBool)
  @IsBoolean({ message: 'METRICS_OPEN must be true or false' })
  METRICS_OPEN = false;

  @IsIn(['fatal', 'error', 'warn', 'log', 'debug', 'verbose'])
  LOG_LEVEL: 'fatal' | 'error' | 'warn' | 'log' | 'debug' | 'verbose' = 'log';

  /** `json` for one JSON object per line; `text` for people at a terminal. */
  @IsIn(['json', 'text'])
  LOG_FORMAT: 'json' | 'text' = 'json';
}

const LOOPBACK = '127.0.0.1';

/** Whether an address is this machine only (127.0.0.0/8, ::1, localhost). */
export function isLoopback(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h) || /^::ffff:127(\.\d{1,3}){3}$/.test(h);
}

export class InvalidSettingsError extends Error {}

/** Settings without a default: absent from `new Settings()`, so named here. */
const OPTIONAL_SETTINGS = [
  'API_HOST',
  'AUTH_STRATEGY',
  'KEYSTONE_WWW_AUTHENTICATE_URI',
  'PLACEMENT_URL',
  'NOVA_URL',
  'POLICY_FILE',
  'BITSTREAM_SOURCE',
  'KEYSTONE_AUTH_URL',
  'SERVICE_APPLICATION_CREDENTIAL_ID',
  'SERVICE_APPLICATION_CREDENTIAL_SECRET',
  'KEYSTONE_REGION_NAME',
  'CONSOLE_DIR',
];

/** Reads and validates the settings; a bad value stops the service with a message naming it. */
export function loadSettings(env: Record<string, string | undefined> = process.env): Settings {
  const known = new Set([...Object.keys(new Settings()), ...OPTIONAL_SETTINGS]);
  const given = Object.fromEntries(Object.entries(env).filter(([k, v]) => v !== undefined && known.has(k)));
  const settings = plainToInstance(Settings, given, { exposeDefaultValues: true });
  const errors = validateSync(settings, { forbidUnknownValues: false });
  if (errors.length > 0) {
    const lines = errors.flatMap((e) => Object.values(e.constraints ?? {}).map((m) => `${e.property}: ${m}`));
    throw new InvalidSettingsError(`invalid settings:\n  ${lines.join('\n  ')}`);
  }
  settings.AUTH_STRATEGY ??= settings.KEYSTONE_AUTH_URL ? 'keystone' : 'noauth';
  if (settings.AUTH_STRATEGY === 'keystone') {
    const missing = missingForKeystone(settings);
    if (missing.length > 0) {
      throw new InvalidSettingsError(
        `invalid settings:\n  AUTH_STRATEGY=keystone needs ${missing.join(', ')} (set them, or AUTH_STRATEGY=noauth)`,
      );
    }
  }
  settings.API_HOST ??= settings.AUTH_STRATEGY === 'noauth' ? LOOPBACK : '0.0.0.0';
  return settings;
}

/** What keystone auth lacks: Keystone's URL and a service user (password, or an application credential). */
function missingForKeystone(settings: Settings): string[] {
  const missing = settings.KEYSTONE_AUTH_URL ? [] : ['KEYSTONE_AUTH_URL'];
  const id = settings.SERVICE_APPLICATION_CREDENTIAL_ID;
  const secret = settings.SERVICE_APPLICATION_CREDENTIAL_SECRET;
  if (id || secret) {
    if (!id) missing.push('SERVICE_APPLICATION_CREDENTIAL_ID (SERVICE_APPLICATION_CREDENTIAL_SECRET is set)');
    if (!secret) missing.push('SERVICE_APPLICATION_CREDENTIAL_SECRET (SERVICE_APPLICATION_CREDENTIAL_ID is set)');
    return missing;
  }
  for (const name of ['SERVICE_USERNAME', 'SERVICE_PASSWORD', 'SERVICE_PROJECT_NAME'] as const) {
    if (!settings[name]) missing.push(name);
  }
  return missing;
}
