import { AsyncLocalStorage } from 'node:async_hooks';
import { hostname } from 'node:os';
import type { LoggerService } from '@nestjs/common';
import pino, { type DestinationStream, type Level, type Logger as PinoLogger } from 'pino';
import pretty from 'pino-pretty';
import { currentLogContext } from './log-context';
import { Redactor } from './redact';
import type { Settings } from './settings';

type NestLevel = Settings['LOG_LEVEL'];

const LEVELS: Record<NestLevel, Level> = {
  fatal: 'fatal',
  error: 'error',
  warn: 'warn',
  log: 'info',
  debug: 'debug',
  verbose: 'trace',
};

const CENSOR = '[redacted]';
const SECRET_HEADERS = ['x-auth-token', 'x-subject-token', 'x-service-token', 'authorization', 'cookie', 'set-cookie'];
const SECRET_SETTINGS = [
  'SERVICE_PASSWORD',
  'SERVICE_APPLICATION_CREDENTIAL_SECRET',
  'NOVA_AUTH_TOKEN',
  'BITSTREAM_AUTH_TOKEN',
  'ANCHOR_SIGNING_KEY',
  'METRICS_TOKEN',
] as const;
type SecretSetting = (typeof SECRET_SETTINGS)[number];
/** Settings that are URLs: only the credentials in them are hidden. */
const URL_SETTINGS = ['DATABASE_URL', 'NATS_URL', 'PLACEMENT_URL', 'NOVA_URL', 'KEYSTONE_AUTH_URL', 'BITSTREAM_SOURCE'];
const SECRET_FIELDS = ['password', 'secret', 'token', 'authToken', 'auth_token', 'serviceToken', 'subjectToken'];

/**
 * Where secrets sit in what is logged: headers (request, response, a client's
 * call), settings, Keystone's password and application-credential bodies,
 * and any field so named up to three levels down. pino's redact censors them
 * before a line is written.
 */
export const REDACTED_PATHS: readonly string[] = [
  ...SECRET_HEADERS.flatMap((h) => [
    `headers["${h}"]`,
    `*.headers["${h}"]`,
    `*.*.headers["${h}"]`,
    `req.headers["${h}"]`,
    `res.headers["${h}"]`,
    `"${h}"`,
    `*["${h}"]`,
  ]),
  ...[...SECRET_SETTINGS, ...URL_SETTINGS].flatMap((s) => [s, `*.${s}`, `*.*.${s}`]),
  ...SECRET_FIELDS.flatMap((f) => [f, `*.${f}`, `*.*.${f}`, `*.*.*.${f}`]),
  'auth.identity.password.user.password',
  'auth.identity.application_credential.secret',
  '*.auth.identity.password.user.password',
  '*.auth.identity.application_credential.secret',
];

const URL_KEYS = new Set(URL_SETTINGS);

/** Hides what a path holds; for URL settings only the `user:password@` part. */
function censor(value: unknown, path: string[]): unknown {
  const key = path[path.length - 1];
  if (URL_KEYS.has(key) && typeof value === 'string') return withoutCredentials(value);
  return CENSOR;
}

/** `postgres://user:secret@db/x` becomes `postgres://user:[redacted]@db/x`; every URL of a list is cleaned. */
export function withoutCredentials(text: string): string {
  return text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/)([^/@\s,]*)@/gi, (_, scheme: string, userinfo: string) => {
    const user = userinfo.split(':')[0];
    return userinfo.includes(':') ? `${scheme}${user}:${CENSOR}@` : `${scheme}${CENSOR}@`;
  });
}

export interface LoggerOptions {
  /** Where lines go; stdout by default. Tests pass a stream to read them back. */
  destination?: DestinationStream;
}

/** The pino options every service shares: level, redaction, and the request context on each line. */
export function pinoOptions(settings: Pick<Settings, 'LOG_LEVEL'>): pino.LoggerOptions {
  return {
    level: LEVELS[settings.LOG_LEVEL],
    // `hostname` is a field of ours (the host an agent serves): the machine is `host`.
    base: { pid: process.pid, host: hostname() },
    messageKey: 'msg',
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: [...REDACTED_PATHS], censor },
    // Lines written while a request or command runs carry its ids; a line that names its own keeps it.
    mixin: (object: object) => {
      const context = currentLogContext();
      if (!context) return {};
      const fields: Record<string, string> = {};
      for (const [key, value] of Object.entries(context)) {
        if (value !== undefined && !(key in object)) fields[key] = value;
      }
      return fields;
    },
  };
}

/** The logger of the service whose work is running (`runAsService`), in a process of several. */
const serviceOfWork = new AsyncLocalStorage<ServiceLogger>();

/**
 * Nest's LoggerService over a pino logger: `logger.log({ msg, ... })` writes
 * the object's fields; a string message keeps Nest's context (the class or
 * component that logged) as `context`.
 */
export class ServiceLogger implements LoggerService {
  /**
   * `root`: the process's logger, without a service: what `forService` derives from.
   * `redactor`: what pino's paths cannot see: the secret settings' values and tokens inside free text.
   */
  constructor(
    readonly pino: PinoLogger,
    private readonly root: PinoLogger = pino,
    private readonly redactor: Redactor = new Redactor(),
  ) {}

  /** The same logger (one destination, one configuration) for another service of this process. */
  forService(service: string): ServiceLogger {
    return new ServiceLogger(this.root.child({ service }), this.root, this.redactor);
  }

  log(message: unknown, ...optional: unknown[]): void {
    this.write('info', message, optional);
  }
  error(message: unknown, ...optional: unknown[]): void {
    this.write('error', message, optional, true);
  }
  warn(message: unknown, ...optional: unknown[]): void {
    this.write('warn', message, optional);
  }
  debug(message: unknown, ...optional: unknown[]): void {
    this.write('debug', message, optional);
  }
  verbose(message: unknown, ...optional: unknown[]): void {
    this.write('trace', message, optional);
  }
  fatal(message: unknown, ...optional: unknown[]): void {
    this.write('fatal', message, optional, true);
  }

  private write(level: Level, raw: unknown, optional: unknown[], withTrace = false): void {
    const owner = serviceOfWork.getStore();
    if (owner && owner !== this && owner.root === this.root) {
      owner.write(level, raw, optional, withTrace);
      return;
    }
    if (!this.pino.isLevelEnabled(level)) return;
    const message = this.redactor.redact(raw);
    const params = optional.map((p) => this.redactor.redact(p));
    // Nest appends the context (a string) last; an error's stack comes before it.
    const context = params.length > 0 && typeof params[params.length - 1] === 'string' ? params.pop() : undefined;
    const stack = withTrace && typeof params[0] === 'string' ? params.shift() : undefined;
    const fields: Record<string, unknown> = {};
    if (context) fields.context = context;
    if (stack) fields.stack = stack;
    if (params.length > 0) fields.details = params;
    if (message instanceof Error) {
      this.pino[level]({ ...fields, err: message }, message.message);
    } else if (typeof message === 'object' && message !== null) {
      this.pino[level]({ ...fields, ...(message as Record<string, unknown>) });
    } else {
      this.pino[level](fields, String(message));
    }
  }
}

/**
 * The one logger: pino, JSON lines (LOG_FORMAT=json) or readable text, the
 * service's name on each line, secrets redacted by pino's `redact`.
 */
export function createLogger(
  service: string,
  settings: Pick<Settings, 'LOG_LEVEL' | 'LOG_FORMAT'> & Partial<Pick<Settings, SecretSetting>>,
  options: LoggerOptions = {},
): ServiceLogger {
  const destination =
    options.destination ??
    (settings.LOG_FORMAT === 'text'
      ? pretty({ sync: true, colorize: process.stdout.isTTY, translateTime: 'SYS:HH:MM:ss.l' })
      : pino.destination({ dest: 1, sync: true }));
  const root = pino(pinoOptions(settings), destination);
  const redactor = new Redactor(SECRET_SETTINGS.map((name) => settings[name]));
  return new ServiceLogger(root.child({ service }), root, redactor);
}

/**
 * Runs a service's start so that everything it sets going (its sockets,
 * timers and the work they bring) logs as that service, also through another
 * service's logger of the same process: Nest's component loggers share one
 * per process, whichever app set it last.
 */
export function runAsService<T>(logger: ServiceLogger, start: () => T): T {
  return serviceOfWork.run(logger, start);
}

/** The pino logger behind a Nest logger, when it is one of ours. */
export function pinoOf(logger: LoggerService): PinoLogger | null {
  return logger instanceof ServiceLogger ? logger.pino : null;
}
