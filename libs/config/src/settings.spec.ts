import { InvalidSettingsError, isLoopback, loadSettings } from './settings';

describe('settings', () => {
  it('work on one machine with no environment at all', () => {
    const s = loadSettings({});
    expect(s).toMatchObject({
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/cyborg',
      NATS_URL: 'nats://127.0.0.1:4222',
      API_PORT: 6666,
      AUTH_STRATEGY: 'noauth',
      BIND_TIMEOUT_MS: 60_000,
    });
    expect(s.PLACEMENT_URL).toBeUndefined();
  });

  it('listen on loopback under noauth unless API_HOST says otherwise', () => {
    expect(loadSettings({}).API_HOST).toBe('127.0.0.1');
    expect(loadSettings({ API_HOST: '' }).API_HOST).toBe('127.0.0.1');
    expect(loadSettings({ API_HOST: '0.0.0.0' }).API_HOST).toBe('0.0.0.0');
    expect(['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost'].every(isLoopback)).toBe(true);
    expect(['0.0.0.0', '::', '10.0.0.5', 'api.example.org'].some(isLoopback)).toBe(false);
  });

  it('enforce scope and the new policy defaults unless told not to, as oslo.policy', () => {
    expect(loadSettings({})).toMatchObject({ POLICY_ENFORCE_SCOPE: true, POLICY_ENFORCE_NEW_DEFAULTS: true });
    expect(loadSettings({ POLICY_ENFORCE_SCOPE: 'false', POLICY_ENFORCE_NEW_DEFAULTS: 'False' })).toMatchObject({
      POLICY_ENFORCE_SCOPE: false,
      POLICY_ENFORCE_NEW_DEFAULTS: false,
    });
    expect(() => loadSettings({ POLICY_ENFORCE_SCOPE: 'maybe' })).toThrow(/POLICY_ENFORCE_SCOPE must be true or false/);
  });

  it('read numbers and optional URLs from the environment, ignoring unrelated variables', () => {
    const s = loadSettings({
      API_PORT: '7000',
      PLACEMENT_URL: 'http://127.0.0.1:8778',
      POLICY_FILE: '/etc/p.yaml',
      HOME: '/x',
    });
    expect(s.API_PORT).toBe(7000);
    expect(s.PLACEMENT_URL).toBe('http://127.0.0.1:8778');
    expect(s.POLICY_FILE).toBe('/etc/p.yaml');
    expect(s).not.toHaveProperty('HOME');
  });

  it('stop a service at start with a message naming each bad value', () => {
    const bad = () => loadSettings({ API_PORT: 'many', DATABASE_URL: 'mysql://x', AGENT_HOSTNAME: 'bad host!' });
    expect(bad).toThrow(InvalidSettingsError);
    expect(bad).toThrow(/API_PORT/);
    expect(bad).toThrow(/DATABASE_URL must be a postgres:\/\/ URL/);
    expect(bad).toThrow(/AGENT_HOSTNAME must be a DNS hostname/);
  });

  it('name the events stream, its subjects and its replicas, so deployments on one NATS stay apart', () => {
    expect(loadSettings({})).toMatchObject({
      EVENTS_STREAM_NAME: 'CYBORG_EVENTS',
      EVENTS_SUBJECT_PREFIX: 'cyborg.events',
      JETSTREAM_REPLICAS: 1,
    });
    expect(
      loadSettings({
        EVENTS_STREAM_NAME: 'EAST_EVENTS',
        EVENTS_SUBJECT_PREFIX: 'east.cyborg-events',
        JETSTREAM_REPLICAS: '3',
      }),
    ).toMatchObject({
      EVENTS_STREAM_NAME: 'EAST_EVENTS',
      EVENTS_SUBJECT_PREFIX: 'east.cyborg-events',
      JETSTREAM_REPLICAS: 3,
    });
    expect(() => loadSettings({ EVENTS_STREAM_NAME: 'cyborg.events' })).toThrow(/EVENTS_STREAM_NAME must be/);
    expect(() => loadSettings({ EVENTS_SUBJECT_PREFIX: 'cyborg.events.>' })).toThrow(/EVENTS_SUBJECT_PREFIX must be/);
    expect(() => loadSettings({ EVENTS_SUBJECT_PREFIX: 'cyborg..events' })).toThrow(/EVENTS_SUBJECT_PREFIX must be/);
    expect(() => loadSettings({ JETSTREAM_REPLICAS: '0' })).toThrow(/JETSTREAM_REPLICAS/);
    expect(() => loadSettings({ JETSTREAM_REPLICAS: '7' })).toThrow(/JETSTREAM_REPLICAS/);
  });

  it('read Keystone and the service user, with domains Default, public endpoints and a 60 s token cache', () => {
    const s = loadSettings({ KEYSTONE_AUTH_URL: 'http://127.0.0.1:5000/v3', SERVICE_PASSWORD: 'pw' });
    expect(s).toMatchObject({
      KEYSTONE_AUTH_URL: 'http://127.0.0.1:5000/v3',
      SERVICE_USERNAME: 'cyborg',
      SERVICE_PROJECT_NAME: 'service',
      SERVICE_USER_DOMAIN_NAME: 'Default',
      SERVICE_PROJECT_DOMAIN_NAME: 'Default',
      KEYSTONE_INTERFACE: 'public',
      SERVICE_TOKEN_ROLES: 'service',
      TOKEN_CACHE_TTL_SECONDS: 60,
    });
    expect(s.KEYSTONE_REGION_NAME).toBeUndefined();
    expect(s.SERVICE_APPLICATION_CREDENTIAL_ID).toBeUndefined();
    const bad = () =>
      loadSettings({ KEYSTONE_INTERFACE: 'private', TOKEN_CACHE_TTL_SECONDS: '-1', SERVICE_TOKEN_ROLES: ',' });
    expect(bad).toThrow(/KEYSTONE_INTERFACE must be public, internal or admin/);
    expect(bad).toThrow(/TOKEN_CACHE_TTL_SECONDS/);
    expect(bad).toThrow(/SERVICE_TOKEN_ROLES must be role names/);
  });

  it('validate tokens with Keystone whenever Keystone is configured; noauth only without it or when asked', () => {
    const keystone = { KEYSTONE_AUTH_URL: 'http://127.0.0.1:5000/v3', SERVICE_PASSWORD: 'pw' };
    expect(loadSettings(keystone)).toMatchObject({ AUTH_STRATEGY: 'keystone', API_HOST: '0.0.0.0' });
    expect(loadSettings({ ...keystone, AUTH_STRATEGY: 'noauth' })).toMatchObject({
      AUTH_STRATEGY: 'noauth',
      API_HOST: '127.0.0.1',
    });
    expect(loadSettings({ ...keystone, AUTH_STRATEGY: 'keystone', API_HOST: '10.0.0.5' }).API_HOST).toBe('10.0.0.5');
    expect(() => loadSettings({ AUTH_STRATEGY: 'trust-me' })).toThrow(/AUTH_STRATEGY must be keystone or noauth/);
  });

  it('stop a keystone API at start naming what it lacks: Keystone, and a service user', () => {
    const bad = () => loadSettings({ AUTH_STRATEGY: 'keystone', SERVICE_USERNAME: '' });
    expect(bad).toThrow(InvalidSettingsError);
    expect(bad).toThrow(/AUTH_STRATEGY=keystone needs KEYSTONE_AUTH_URL, SERVICE_USERNAME, SERVICE_PASSWORD \(/);
    expect(() => loadSettings({ KEYSTONE_AUTH_URL: 'http://ks/v3', SERVICE_APPLICATION_CREDENTIAL_ID: 'id' })).toThrow(
      /needs SERVICE_APPLICATION_CREDENTIAL_SECRET \(SERVICE_APPLICATION_CREDENTIAL_ID is set\)/,
    );
    expect(
      loadSettings({
        KEYSTONE_AUTH_URL: 'http://ks/v3',
        SERVICE_APPLICATION_CREDENTIAL_ID: 'id',
        SERVICE_APPLICATION_CREDENTIAL_SECRET: 's',
      }).AUTH_STRATEGY,
    ).toBe('keystone');
  });

  it('anchor the log every 30 s, unsigned, unless told; a short signing key stops the service naming it', () => {
    expect(loadSettings({})).toEqual(expect.objectContaining({ ANCHOR_INTERVAL_MS: 30_000, ANCHOR_SIGNING_KEY: '' }));
    expect(loadSettings({ ANCHOR_INTERVAL_MS: '0' }).ANCHOR_INTERVAL_MS).toBe(0);
    expect(() => loadSettings({ ANCHOR_INTERVAL_MS: '-5' })).toThrow(/ANCHOR_INTERVAL_MS/);
    expect(() => loadSettings({ ANCHOR_SIGNING_KEY: 'short' })).toThrow(
      /ANCHOR_SIGNING_KEY must be at least 32 characters/,
    );
    const key = 'k'.repeat(32);
    expect(loadSettings({ ANCHOR_SIGNING_KEY: key }).ANCHOR_SIGNING_KEY).toBe(key);
  });

  it('ask no metrics token and keep /metrics closed under keystone unless told; a short token stops the service', () => {
    expect(loadSettings({})).toEqual(expect.objectContaining({ METRICS_TOKEN: '', METRICS_OPEN: false }));
    expect(() => loadSettings({ METRICS_TOKEN: 'short' })).toThrow(/METRICS_TOKEN must be at least 16 characters/);
    expect(() => loadSettings({ METRICS_OPEN: 'maybe' })).toThrow(/METRICS_OPEN must be true or false/);
    const token = 't'.repeat(16);
    expect(loadSettings({ METRICS_TOKEN: token, METRICS_OPEN: 'true' })).toEqual(
      expect.objectContaining({ METRICS_TOKEN: token, METRICS_OPEN: true }),
    );
  });
});
