import { loadSettings } from '@cyborg/config';
import {
  limitsSessionOptions,
  serviceCredentials,
  serviceSessionOptions,
  serviceTokenRoles,
  ServiceUserSettingsError,
} from './index';

describe('the service user from settings', () => {
  it('logs in with a password in domain Default by default', () => {
    const settings = loadSettings({ KEYSTONE_AUTH_URL: 'http://ks:5000/v3', SERVICE_PASSWORD: 'pw' });
    expect(serviceSessionOptions(settings, { renewMarginSeconds: 30 })).toEqual({
      authUrl: 'http://ks:5000/v3',
      renewMarginSeconds: 30,
      credentials: {
        type: 'password',
        username: 'cyborg',
        password: 'pw',
        userDomainName: 'Default',
        projectName: 'service',
        projectDomainName: 'Default',
      },
    });
  });

  it('prefers an application credential when one is set', () => {
    const settings = loadSettings({
      SERVICE_APPLICATION_CREDENTIAL_ID: 'id1',
      SERVICE_APPLICATION_CREDENTIAL_SECRET: 's1',
    });
    expect(serviceCredentials(settings)).toEqual({ type: 'application_credential', id: 'id1', secret: 's1' });
  });

  it('says which settings are missing', () => {
    expect(() => serviceCredentials(loadSettings({}))).toThrow(/SERVICE_PASSWORD/);
    expect(() => serviceCredentials(loadSettings({ SERVICE_APPLICATION_CREDENTIAL_ID: 'id1' }))).toThrow(
      ServiceUserSettingsError,
    );
    expect(() => serviceSessionOptions(loadSettings({ SERVICE_PASSWORD: 'pw' }))).toThrow(/KEYSTONE_AUTH_URL/);
  });

  it('reads the service token roles as a list', () => {
    expect(serviceTokenRoles(loadSettings({}).SERVICE_TOKEN_ROLES)).toEqual(['service']);
    expect(serviceTokenRoles(' service , admin ')).toEqual(['service', 'admin']);
  });

  it('reads quota limits as the service user scoped to the system; an application credential as it is', () => {
    const password = limitsSessionOptions(
      loadSettings({ KEYSTONE_AUTH_URL: 'http://ks:5000/v3', SERVICE_PASSWORD: 'pw' }),
    );
    expect(password).toEqual({
      systemScoped: true,
      options: {
        authUrl: 'http://ks:5000/v3',
        credentials: { type: 'password', username: 'cyborg', password: 'pw', userDomainName: 'Default', system: true },
      },
    });
    const credential = limitsSessionOptions(
      loadSettings({
        KEYSTONE_AUTH_URL: 'http://ks:5000/v3',
        SERVICE_APPLICATION_CREDENTIAL_ID: 'id1',
        SERVICE_APPLICATION_CREDENTIAL_SECRET: 's1',
      }),
    );
    expect(credential.systemScoped).toBe(false);
  });
});
