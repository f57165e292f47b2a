import type { KeystoneCredentials, KeystoneSessionOptions } from './keystone-session';

/** The settings (libs/config) a service user is made from. */
export interface ServiceUserSettings {
  KEYSTONE_AUTH_URL?: string;
  SERVICE_USERNAME: string;
  SERVICE_PASSWORD: string;
  SERVICE_PROJECT_NAME: string;
  SERVICE_USER_DOMAIN_NAME: string;
  SERVICE_PROJECT_DOMAIN_NAME: string;
  SERVICE_APPLICATION_CREDENTIAL_ID?: string;
  SERVICE_APPLICATION_CREDENTIAL_SECRET?: string;
}

/** A service user's settings that cannot work together; the message names them. */
export class ServiceUserSettingsError extends Error {
  override readonly name = 'ServiceUserSettingsError';
}

/**
 * The session options of the services' service user: an application
 * credential when SERVICE_APPLICATION_CREDENTIAL_ID is set, else
 * SERVICE_USERNAME / SERVICE_PASSWORD scoped to SERVICE_PROJECT_NAME.
 */
export function serviceSessionOptions(
  settings: ServiceUserSettings,
  extra: Omit<KeystoneSessionOptions, 'authUrl' | 'credentials'> = {},
): KeystoneSessionOptions {
  if (!settings.KEYSTONE_AUTH_URL) throw new ServiceUserSettingsError('KEYSTONE_AUTH_URL is not set');
  return { authUrl: settings.KEYSTONE_AUTH_URL, credentials: serviceCredentials(settings), ...extra };
}

export function serviceCredentials(settings: ServiceUserSettings): KeystoneCredentials {
  const id = settings.SERVICE_APPLICATION_CREDENTIAL_ID;
  const secret = settings.SERVICE_APPLICATION_CREDENTIAL_SECRET;
  if (id || secret) {
    if (!id || !secret) {
      throw new ServiceUserSettingsError(
        'SERVICE_APPLICATION_CREDENTIAL_ID and SERVICE_APPLICATION_CREDENTIAL_SECRET must be set together',
      );
    }
    return { type: 'application_credential', id, secret };
  }
  if (!settings.SERVICE_USERNAME || !settings.SERVICE_PASSWORD || !settings.SERVICE_PROJECT_NAME) {
    throw new ServiceUserSettingsError(
      'the service user needs SERVICE_USERNAME, SERVICE_PASSWORD and SERVICE_PROJECT_NAME (or an application credential)',
    );
  }
  return {
    type: 'password',
    username: settings.SERVICE_USERNAME,
    password: settings.SERVICE_PASSWORD,
    userDomainName: settings.SERVICE_USER_DOMAIN_NAME,
    projectName: settings.SERVICE_PROJECT_NAME,
    projectDomainName: settings.SERVICE_PROJECT_DOMAIN_NAME,
  };
}

/** SERVICE_TOKEN_ROLES (`service, admin`) as a list. */
export function serviceTokenRoles(value: string): string[] {
  return value
    .split(',')
    .map((r) => r.trim())
    .filter((r) => r.length > 0);
}

/**
 * The session options that read quota limits: the service user's password
 * login scoped to the system (Keystone shows a project-scoped token only its
 * own project's limits). An application credential is used as it is; it
 * can only see its own project's limits, so `systemScoped` is false.
 */
export function limitsSessionOptions(settings: ServiceUserSettings): {
  options: KeystoneSessionOptions;
  systemScoped: boolean;
} {
  const options = serviceSessionOptions(settings);
  if (options.credentials.type !== 'password') return { options, systemScoped: false };
  const { username, password, userDomainName } = options.credentials;
  return {
    options: { ...options, credentials: { type: 'password', username, password, userDomainName, system: true } },
    systemScoped: true,
  };
}
