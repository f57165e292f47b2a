import { KEYSTONE_START_TIMEOUT_MS, TestKeystone } from '../../../test/support/keystone';
import { InvalidTokenError, KeystoneSession, TokenValidator } from './index';

/** Short enough that renewal and expiry happen inside the test; the file takes about this long plus start. */
const TOKEN_LIFETIME_SECONDS = 20;

const until = async (condition: () => boolean | Promise<boolean>) => {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 250));
};

describe('tokens that expire, against a real Keystone issuing 20-second tokens', () => {
  let keystone: TestKeystone;

  beforeAll(async () => {
    keystone = await TestKeystone.start({ tokenExpirationSeconds: TOKEN_LIFETIME_SECONDS });
  }, KEYSTONE_START_TIMEOUT_MS);

  afterAll(async () => {
    await keystone?.stop();
  });

  it('a session renews its token before it expires; an expired token is refused even when cached', async () => {
    const session = new KeystoneSession({
      authUrl: keystone.authUrl,
      credentials: { type: 'password', username: 'cyborg', password: 'cyborg-password', projectName: 'service' },
      // Larger than the lifetime: capped at half of it, so it renews after ~10 s, not on every call.
      renewMarginSeconds: 60,
    });
    const validator = new TokenValidator({ session, cacheTtlSeconds: 3600 });
    const user = await keystone.issue('member');
    const first = await session.token();
    expect(await session.token()).toBe(first);
    expect((await validator.validate(user.token)).userName).toBe('demo-member');

    await until(async () => (await session.token()) !== first);
    expect(session.authentications).toBe(2);
    const firstIdentity = new Date(user.body.expires_at).getTime();
    // The renewed token still had half its life left: it was renewed early, not after a refusal.
    expect((await session.identity()).expiresAt.getTime()).toBeGreaterThan(firstIdentity);

    await until(() => Date.now() > firstIdentity + 1000);
    await expect(validator.validate(user.token)).rejects.toThrow(InvalidTokenError);
    // Keystone itself refuses it too, not only the cache's expiry rule.
    const fresh = new TokenValidator({ session, cacheTtlSeconds: 0 });
    await expect(fresh.validate(user.token)).rejects.toThrow(InvalidTokenError);
    expect(fresh.stats.keystoneCalls).toBe(1);
    expect(session.authentications).toBeGreaterThanOrEqual(2);
  }, 90_000);
});
