import { ConsoleLogger, type LogLevel } from '@nestjs/common';
import { Redactor } from './redact';
import type { Settings } from './settings';

const LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];

/** The settings whose values are secrets: never printed, wherever they turn up in a log line. */
const SECRET_SETTINGS = [
  'SERVICE_PASSWORD',
  'SERVICE_APPLICATION_CREDENTIAL_SECRET',
  'NOVA_AUTH_TOKEN',
  'BITSTREAM_AUTH_TOKEN',
] as const;

type LoggerSettings = Pick<Settings, 'LOG_LEVEL' | 'LOG_FORMAT'> &
  Partial<Pick<Settings, (typeof SECRET_SETTINGS)[number]>>;

/** ConsoleLogger with every message and parameter passed through a Redactor first. */
export class RedactingLogger extends ConsoleLogger {
  private secretFilter = new Redactor();

  /** Adds exact secret values to hide (a token the service obtained, say). */
  withSecrets(secrets: readonly (string | undefined)[]): this {
    this.secretFilter = new Redactor(secrets);
    return this;
  }

  override log(message: unknown, ...rest: unknown[]): void {
    super.log(this.secretFilter.redact(message), ...rest.map((p) => this.secretFilter.redact(p)));
  }
  override error(message: unknown, ...rest: unknown[]): void {
    super.error(this.secretFilter.redact(message), ...rest.map((p) => this.secretFilter.redact(p)));
  }
  override warn(message: unknown, ...rest: unknown[]): void {
    super.warn(this.secretFilter.redact(message), ...rest.map((p) => this.secretFilter.redact(p)));
  }
  override debug(message: unknown, ...rest: unknown[]): void {
    super.debug(this.secretFilter.redact(message), ...rest.map((p) => this.secretFilter.redact(p)));
  }
  override verbose(message: unknown, ...rest: unknown[]): void {
    super.verbose(this.secretFilter.redact(message), ...rest.map((p) => this.secretFilter.redact(p)));
  }
  override fatal(message: unknown, ...rest: unknown[]): void {
    super.fatal(this.secretFilter.redact(message), ...rest.map((p) => this.secretFilter.redact(p)));
  }
}

/**
 * The one logger: JSON lines by default, with the service's name on each
 * line. Passwords, application credential secrets and tokens are redacted
 * (the settings' values anywhere, secret-named fields, X-Auth-Token and
 * X-Service-Token values, fernet tokens).
 */
export function createLogger(service: string, settings: LoggerSettings): RedactingLogger {
  const upTo = LEVELS.indexOf(settings.LOG_LEVEL);
  return new RedactingLogger(service, {
    json: settings.LOG_FORMAT === 'json',
    colors: settings.LOG_FORMAT === 'text',
    logLevels: LEVELS.slice(0, upTo + 1),
  }).withSecrets(SECRET_SETTINGS.map((name) => settings[name]));
}
