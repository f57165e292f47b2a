import { createHash } from 'node:crypto';
import { InvalidTokenError, KeystoneAuthenticationError, KeystoneUnavailableError } from './errors';
import { callKeystone, errorDetail } from './http';
import type { KeystoneSession } from './keystone-session';
import { identityOf, isTokenResponse, type TokenIdentity } from './token';

export interface TokenValidatorOptions {
  /** The service user's session; its token is the `X-Auth-Token` of every validation. */
  session: KeystoneSession;
  /**
   * Longest a validation result is reused, in seconds (default 60; 0 turns
   * the cache off). A revoked token keeps being accepted for at most this
   * long after it was last checked; an expired one never is.
   */
  cacheTtlSeconds?: number;
  /** Most tokens remembered; the least recently used is dropped first (default 10,000). */
  cacheSize?: number;
  /** Roles that make a token a service token, as keystonemiddleware's `service_token_roles` (default `service`). */
  serviceRoles?: readonly string[];
  /** Per call to Keystone (default 10 s). */
  timeoutMs?: number;
}

type Cached = { until: number; identity: TokenIdentity } | { until: number; invalid: string };

/** Longer than any token Keystone issues (fernet ~180-250 characters, JWS a few hundred). */
const MAX_TOKEN_LENGTH = 8192;
/** Header-safe printable ASCII: anything else cannot be a token and must not reach fetch. */
const TOKEN_CHARACTERS = /^[\x21-\x7e]+$/;

/**
 * Validates subject tokens as keystonemiddleware's auth_token does:
 * `GET /v3/auth/tokens` with the service user's token in `X-Auth-Token` and
 * the subject in `X-Subject-Token`, expired tokens refused (no
 * `allow_expired`). Answers are cached (bounded LRU, keyed by the token's
 * SHA-256) until the token expires or `cacheTtlSeconds` pass, whichever is
 * first; concurrent checks of one token share one call.
 *
 * Keystone's 404 means the subject is invalid (InvalidTokenError). Its 401
 * means the service's own token was refused: it is renewed and the check
 * repeated once. Unreachable, 5xx, 403 (the service user may not validate)
 * and a service user that cannot log in are KeystoneUnavailableError,
 * never a verdict on the subject.
 */
export class TokenValidator {
  readonly stats = { cacheHits: 0, keystoneCalls: 0 };
  private readonly ttlMs: number;
  private readonly size: number;
  private readonly serviceRoles: readonly string[];
  private readonly timeoutMs: number;
  private readonly cache = new Map<string, Cached>();
  private readonly inFlight = new Map<string, Promise<TokenIdentity>>();

  constructor(private readonly options: TokenValidatorOptions) {
    this.ttlMs = (options.cacheTtlSeconds ?? 60) * 1000;
    this.size = options.cacheSize ?? 10_000;
    this.serviceRoles = options.serviceRoles ?? ['service'];
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  /** The identity the token speaks for; InvalidTokenError or KeystoneUnavailableError otherwise. */
  async validate(subjectToken: string): Promise<TokenIdentity> {
    if (!subjectToken) throw new InvalidTokenError('no token');
    if (subjectToken.length > MAX_TOKEN_LENGTH || !TOKEN_CHARACTERS.test(subjectToken)) {
      throw new InvalidTokenError('not a token');
    }
    const key = createHash('sha256').update(subjectToken).digest('hex');
    const cached = this.fromCache(key);
    if (cached) {
      this.stats.cacheHits += 1;
      if ('invalid' in cached) throw new InvalidTokenError(cached.invalid);
      return cached.identity;
    }
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = this.check(subjectToken, key).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    return pending;
  }

  /** Drop the cached answer for one token, so a token just revoked is refused at once. */
  forget(subjectToken: string): void {
    const key = createHash('sha256').update(subjectToken).digest('hex');
    this.cache.delete(key);
  }

  /** Drop every cached answer. */
  clear(): void {
    this.cache.clear();
  }

  private fromCache(key: string): Cached | null {
    const entry = this.cache.get(key);
    if (!entry) return null;
    this.cache.delete(key);
    if (Date.now() >= entry.until) return null;
    this.cache.set(key, entry); // most recently used goes last
    return entry;
  }

  private remember(key: string, entry: Cached): void {
    if (this.ttlMs <= 0 || entry.until <= Date.now()) return;
    this.cache.delete(key);
    this.cache.set(key, entry);
    while (this.cache.size > this.size) this.cache.delete(this.cache.keys().next().value as string);
  }

  private async check(subjectToken: string, key: string): Promise<TokenIdentity> {
    const session = this.options.session;
    const url = `${session.authUrl}/auth/tokens`;
    for (let attempt = 1; ; attempt += 1) {
      let serviceToken: string;
      try {
        serviceToken = await session.token();
      } catch (error) {
        if (error instanceof KeystoneAuthenticationError) {
          throw new KeystoneUnavailableError('POST', url, `the service user cannot authenticate: ${error.detail}`);
        }
        throw error;
      }
      this.stats.keystoneCalls += 1;
      const answer = await callKeystone(
        'GET',
        url,
        { 'x-auth-token': serviceToken, 'x-subject-token': subjectToken },
        this.timeoutMs,
      );
      if (answer.status === 200) {
        if (!isTokenResponse(answer.body))
          throw new KeystoneUnavailableError('GET', url, 'answered 200 without a token');
        const identity = identityOf(answer.body.token, this.serviceRoles);
        if (identity.expiresAt.getTime() <= Date.now()) return this.refuse(key, 'expired');
        this.remember(key, { identity, until: Math.min(identity.expiresAt.getTime(), Date.now() + this.ttlMs) });
        return identity;
      }
      if (answer.status === 404) return this.refuse(key, errorDetail(answer));
      if (answer.status === 401 && attempt === 1) {
        session.invalidate(serviceToken);
        continue;
      }
      if (answer.status === 401) {
        throw new KeystoneUnavailableError('GET', url, "Keystone refuses the service user's own token", 401);
      }
      if (answer.status === 403) {
        throw new KeystoneUnavailableError(
          'GET',
          url,
          'the service user may not validate tokens (it needs the service or admin role)',
          403,
        );
      }
      // 400 and the like: Keystone could not read the subject as a token.
      return this.refuse(key, errorDetail(answer));
    }
  }

  private refuse(key: string, reason: string): never {
    // A token never becomes valid again, so refusals are cached too: a flood of garbage costs one call each.
    this.remember(key, { invalid: reason, until: Date.now() + this.ttlMs });
    throw new InvalidTokenError(reason);
  }
}
