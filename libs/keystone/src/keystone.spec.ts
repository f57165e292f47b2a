import { KEYSTONE_START_TIMEOUT_MS, TestKeystone } from '../../../test/support/keystone';
import { PLACEMENT_HEADERS, PLACEMENT_START_TIMEOUT_MS, TestPlacement } from '../../../test/support/placement';
import {
  EndpointNotFoundError,
  InvalidTokenError,
  KeystoneAuthenticationError,
  KeystoneSession,
  KeystoneUnavailableError,
  TokenValidator,
} from './index';

describe('Keystone session and token validation against a real Keystone', () => {
  let keystone: TestKeystone;
  let cyborg: KeystoneSession;

  beforeAll(async () => {
    keystone = await TestKeystone.start({ endpoints: { accelerator: 'http://127.0.0.1:6666/v2' } });
    cyborg = new KeystoneSession({
      authUrl: keystone.authUrl,
      credentials: { type: 'password', username: 'cyborg', password: 'cyborg-password', projectName: 'service' },
    });
  }, KEYSTONE_START_TIMEOUT_MS);

  afterAll(async () => {
    await keystone?.stop();
  });

  describe('a session', () => {
    it('logs a service user in with a password, scoped to its project', async () => {
      const identity = await cyborg.identity();
      expect(identity).toMatchObject({
        userName: 'cyborg',
        userDomainName: 'Default',
        projectName: 'service',
        projectId: keystone.projects.service.id,
        systemScope: null,
        methods: ['password'],
      });
      expect(identity.roles).toEqual(expect.arrayContaining(['service', 'admin', 'member', 'reader']));
      expect(cyborg.authentications).toBe(1);
      expect(await cyborg.token()).toBe(await cyborg.token());
      expect(cyborg.authentications).toBe(1);
    });

    it('logs in system-scoped when asked', async () => {
      const session = new KeystoneSession({
        authUrl: keystone.url, // /v3 is added
        credentials: { type: 'password', username: 'system-admin', password: 'system-admin-password', system: true },
      });
      expect(await session.identity()).toMatchObject({ userName: 'system-admin', systemScope: 'all', projectId: null });
    });

    it('logs in with an application credential, which carries its project and roles', async () => {
      const credential = await keystone.createApplicationCredential('member');
      const session = new KeystoneSession({
        authUrl: keystone.authUrl,
        credentials: { type: 'application_credential', id: credential.id, secret: credential.secret },
      });
      const identity = await session.identity();
      expect(identity).toMatchObject({
        userId: keystone.personas.member.userId,
        projectName: 'demo',
        methods: ['application_credential'],
        applicationCredentialId: credential.id,
      });
      expect(identity.roles).toEqual(expect.arrayContaining(['member', 'reader']));
      expect(identity.roles).not.toContain('admin');
    });

    it('finds endpoints in the catalog by service type, interface and region', async () => {
      expect(await cyborg.endpoint('accelerator')).toBe('http://127.0.0.1:6666/v2');
      expect(await cyborg.endpoint('placement', { interface: 'internal', region: 'RegionOne' })).toBe(
        'http://127.0.0.1:8778',
      );
      expect(await cyborg.endpoint('identity')).toBe(keystone.authUrl);
      await expect(cyborg.endpoint('compute', { region: 'RegionTwo' })).rejects.toThrow(EndpointNotFoundError);
      await expect(cyborg.endpoint('volumev3')).rejects.toThrow(
        'no public endpoint of service type volumev3 in the service catalog',
      );
    });

    it('refuses wrong credentials with a typed error', async () => {
      const session = new KeystoneSession({
        authUrl: keystone.authUrl,
        credentials: { type: 'password', username: 'cyborg', password: 'wrong', projectName: 'service' },
      });
      await expect(session.token()).rejects.toThrow(KeystoneAuthenticationError);
      const unknownProject = new KeystoneSession({
        authUrl: keystone.authUrl,
        credentials: { type: 'password', username: 'cyborg', password: 'cyborg-password', projectName: 'nope' },
      });
      await expect(unknownProject.token()).rejects.toThrow(/refused the credentials \(401\)/);
    });

    it('renews its token once when a callee answers 401, and the call then succeeds', async () => {
      const session = new KeystoneSession({
        authUrl: keystone.authUrl,
        credentials: { type: 'password', username: 'nova', password: 'nova-password', projectName: 'service' },
      });
      const first = await session.token();
      await keystone.revoke(first);
      const response = await session.request(`${keystone.authUrl}/auth/projects`);
      expect(response.status).toBe(200);
      expect((await response.json()) as unknown).toMatchObject({ projects: [{ name: 'service' }] });
      expect(session.authentications).toBe(2);
      expect(await session.token()).not.toBe(first);
    });

    it('shares one login among concurrent callers', async () => {
      const session = new KeystoneSession({
        authUrl: keystone.authUrl,
        credentials: {
          type: 'password',
          username: 'placement',
          password: 'placement-password',
          projectName: 'service',
        },
      });
      const tokens = await Promise.all(Array.from({ length: 10 }, () => session.token()));
      expect(new Set(tokens).size).toBe(1);
      expect(session.authentications).toBe(1);
    });
  });

  describe('a Placement behind keystonemiddleware', () => {
    let placement: TestPlacement;

    beforeAll(async () => {
      placement = await TestPlacement.start({ keystoneAuthUrl: keystone.authUrl });
      await keystone.setEndpoint('placement', placement.url);
    }, PLACEMENT_START_TIMEOUT_MS);

    afterAll(async () => {
      await placement?.stop();
    });

    it('is found in the catalog and answers a service user, renewing a refused token once', async () => {
      const session = new KeystoneSession({
        authUrl: keystone.authUrl,
        credentials: { type: 'password', username: 'cyborg', password: 'cyborg-password', projectName: 'service' },
      });
      const url = `${await session.endpoint('placement')}/resource_providers`;
      const headers = { 'openstack-api-version': PLACEMENT_HEADERS['openstack-api-version'] };
      expect((await session.request(url, { headers })).status).toBe(200);
      await keystone.revoke(await session.token());
      const renewed = await session.request(url, { headers });
      expect(renewed.status).toBe(200);
      expect(((await renewed.json()) as { resource_providers: unknown[] }).resource_providers).toEqual([]);
      expect(session.authentications).toBe(2);
    });

    it('refuses a missing or revoked token (401, pointing at Keystone) and a member (403)', async () => {
      const missing = await fetch(`${placement.url}/resource_providers`);
      expect(missing.status).toBe(401);
      expect(missing.headers.get('www-authenticate')).toBe(`Keystone uri="${keystone.authUrl}"`);
      const token = await keystone.token('nova');
      expect((await placement.call('GET', '/resource_providers', undefined, token)).status).toBe(200);
      await keystone.revoke(token);
      expect((await placement.call('GET', '/resource_providers', undefined, token)).status).toBe(401);
      expect(
        (await placement.call('GET', '/resource_providers', undefined, await keystone.token('member'))).status,
      ).toBe(403);
    });
  });

  describe('a token validator', () => {
    const validator = () => new TokenValidator({ session: cyborg, cacheTtlSeconds: 0 });

    it('answers who a project-scoped token speaks for, from Keystone', async () => {
      const issued = await keystone.issue('member');
      const identity = await validator().validate(issued.token);
      expect(identity).toMatchObject({
        userId: keystone.personas.member.userId,
        userName: 'demo-member',
        userDomainId: 'default',
        projectId: keystone.projects.demo.id,
        projectName: 'demo',
        projectDomainName: 'Default',
        domainId: null,
        systemScope: null,
        hasServiceRole: false,
        auditIds: issued.body.audit_ids,
      });
      expect(identity.roles.sort()).toEqual(['member', 'reader']);
      expect(identity.expiresAt.toISOString()).toBe(new Date(issued.body.expires_at).toISOString());
    });

    it('sees implied roles, system scope and service roles', async () => {
      const v = validator();
      expect((await v.validate(await keystone.token('manager'))).roles.sort()).toEqual(['manager', 'member', 'reader']);
      expect(await v.validate(await keystone.token('systemAdmin'))).toMatchObject({
        systemScope: 'all',
        projectId: null,
        hasServiceRole: false,
      });
      expect(await v.validate(await keystone.token('nova'))).toMatchObject({ userName: 'nova', hasServiceRole: true });
      const custom = new TokenValidator({ session: cyborg, serviceRoles: ['manager'] });
      expect((await custom.validate(await keystone.token('manager'))).hasServiceRole).toBe(true);
    });

    it('refuses garbage, malformed and unknown tokens as invalid', async () => {
      const v = validator();
      await expect(v.validate('')).rejects.toThrow(InvalidTokenError);
      await expect(v.validate('not a token\n')).rejects.toThrow(InvalidTokenError);
      await expect(v.validate('x'.repeat(10_000))).rejects.toThrow(InvalidTokenError);
      await expect(v.validate('gAAAAABgarbage')).rejects.toThrow('invalid token: Could not recognize Fernet token');
      const real = await keystone.token('reader');
      await expect(v.validate(`${real.slice(0, -4)}AAAA`)).rejects.toThrow(InvalidTokenError);
    });

    it('refuses a revoked token once Keystone is asked again', async () => {
      const v = validator();
      const token = await keystone.token('member');
      await v.validate(token);
      await keystone.revoke(token);
      await expect(v.validate(token)).rejects.toThrow(InvalidTokenError);
    });

    it('keeps answering a revoked token from its cache for at most cacheTtlSeconds', async () => {
      const cached = new TokenValidator({ session: cyborg, cacheTtlSeconds: 1 });
      const token = await keystone.token('member');
      await cached.validate(token);
      await keystone.revoke(token);
      expect((await cached.validate(token)).userName).toBe('demo-member');
      expect(cached.stats).toEqual({ cacheHits: 1, keystoneCalls: 1 });
      await new Promise((resolve) => setTimeout(resolve, 1100));
      await expect(cached.validate(token)).rejects.toThrow(InvalidTokenError);
      expect(cached.stats.keystoneCalls).toBe(2);
    });

    it('checks one token once for many concurrent requests, and remembers refusals', async () => {
      const v = new TokenValidator({ session: cyborg, cacheTtlSeconds: 60 });
      const token = await keystone.token('reader');
      const identities = await Promise.all(Array.from({ length: 20 }, () => v.validate(token)));
      expect(new Set(identities.map((i) => i.userName))).toEqual(new Set(['demo-reader']));
      expect(v.stats.keystoneCalls).toBe(1);
      await expect(v.validate('gAAAAABnope')).rejects.toThrow(InvalidTokenError);
      await expect(v.validate('gAAAAABnope')).rejects.toThrow(InvalidTokenError);
      expect(v.stats.keystoneCalls).toBe(2);
    });

    it('drops the least recently used answer when full', async () => {
      const v = new TokenValidator({ session: cyborg, cacheTtlSeconds: 60, cacheSize: 2 });
      const [a, b, c] = await Promise.all([
        keystone.token('member'),
        keystone.token('reader'),
        keystone.token('manager'),
      ]);
      await v.validate(a);
      await v.validate(b);
      await v.validate(a); // a is now the most recently used
      await v.validate(c); // evicts b
      expect(v.stats).toEqual({ cacheHits: 1, keystoneCalls: 3 });
      await v.validate(a);
      await v.validate(b);
      expect(v.stats).toEqual({ cacheHits: 2, keystoneCalls: 4 });
    });

    it("renews the service user's own token when Keystone refuses it, and validates", async () => {
      const session = new KeystoneSession({
        authUrl: keystone.authUrl,
        credentials: { type: 'password', username: 'cyborg', password: 'cyborg-password', projectName: 'service' },
      });
      const v = new TokenValidator({ session, cacheTtlSeconds: 0 });
      await keystone.revoke(await session.token());
      expect((await v.validate(await keystone.token('member'))).userName).toBe('demo-member');
      expect(session.authentications).toBe(2);
    });

    it('says Keystone is unavailable, not that the token is invalid, when the service user may not validate', async () => {
      const member = new KeystoneSession({
        authUrl: keystone.authUrl,
        credentials: {
          type: 'password',
          username: 'demo-member',
          password: 'demo-member-password',
          projectName: 'demo',
        },
      });
      const v = new TokenValidator({ session: member, cacheTtlSeconds: 0 });
      await expect(v.validate(await keystone.token('nova'))).rejects.toThrow(/may not validate tokens/);
      const wrongPassword = new KeystoneSession({
        authUrl: keystone.authUrl,
        credentials: { type: 'password', username: 'cyborg', password: 'wrong', projectName: 'service' },
      });
      await expect(
        new TokenValidator({ session: wrongPassword }).validate(await keystone.token('member')),
      ).rejects.toThrow(KeystoneUnavailableError);
    });

    it('says Keystone is unavailable while it is stopped, and validates again once it is back', async () => {
      const v = new TokenValidator({ session: cyborg, cacheTtlSeconds: 0 });
      const token = await keystone.token('member');
      const fresh = new KeystoneSession({
        authUrl: keystone.authUrl,
        credentials: { type: 'password', username: 'nova', password: 'nova-password', projectName: 'service' },
      });
      await keystone.stopServer();
      try {
        await expect(v.validate(token)).rejects.toThrow(KeystoneUnavailableError);
        await expect(fresh.token()).rejects.toThrow(KeystoneUnavailableError);
      } finally {
        await keystone.startServer();
      }
      expect((await v.validate(token)).userName).toBe('demo-member');
      expect((await fresh.identity()).userName).toBe('nova');
    }, 60_000);

    it('says Keystone is unavailable when nothing listens at the auth URL', async () => {
      const nowhere = new KeystoneSession({
        authUrl: 'http://127.0.0.1:9/v3',
        credentials: { type: 'password', username: 'cyborg', password: 'x', projectName: 'service' },
        timeoutMs: 2000,
      });
      await expect(new TokenValidator({ session: nowhere }).validate('gAAAAABx')).rejects.toThrow(
        KeystoneUnavailableError,
      );
    });
  });
});
