import { InvalidTokenError, KeystoneAuthenticationError, KeystoneUnavailableError } from './errors';
import { callKeystone } from './http';
import type { KeystoneSession } from './keystone-session';
import type { TokenIdentity } from './token';
import type { TokenValidator } from './token-validator';

/** The tokens a request carries: `X-Auth-Token` and, from services such as Nova, `X-Service-Token`. */
export interface RequestTokens {
  userToken: string | null;
  serviceToken: string | null;
}

/** Who a request speaks for, from Keystone's answers only. */
export interface AuthenticatedRequest {
  user: TokenIdentity;
  /** The validated service token, present only when it carries one of the service roles. */
  service: TokenIdentity | null;
}

/** Which token Keystone did not accept; the message says it without echoing the token. */
export class UnauthenticatedError extends Error {
  override readonly name = 'UnauthenticatedError';

  constructor(
    readonly which: 'X-Auth-Token' | 'X-Service-Token',
    readonly reason: 'missing' | 'invalid' | 'not a service token',
  ) {
    super(
      reason === 'missing'
        ? `no ${which} was sent`
        : reason === 'invalid'
          ? `Keystone does not accept the ${which} (unknown, expired or revoked)`
          : `the ${which} carries none of the service roles`,
    );
  }
}

/**
 * Authenticates a request as keystonemiddleware's auth_token does with
 * `delay_auth_decision = false` and, as Cyborg configures it,
 * `service_token_roles_required = true`: the user token must validate; a
 * service token, when sent, must validate and carry a service role, or the
 * whole request is refused (it is never just downgraded). Keystone being
 * unreachable is KeystoneUnavailableError, never a verdict.
 */
export class RequestAuthenticator {
  constructor(
    private readonly validator: TokenValidator,
    private readonly session: KeystoneSession,
  ) {}

  async authenticate(tokens: RequestTokens): Promise<AuthenticatedRequest> {
    if (!tokens.userToken) throw new UnauthenticatedError('X-Auth-Token', 'missing');
    const [user, service] = await Promise.all([
      this.check(tokens.userToken, 'X-Auth-Token'),
      tokens.serviceToken ? this.check(tokens.serviceToken, 'X-Service-Token') : Promise.resolve(null),
    ]);
    if (service && !service.hasServiceRole) throw new UnauthenticatedError('X-Service-Token', 'not a service token');
    return { user, service };
  }

  /**
   * Whether this service can validate tokens now: Keystone answers and the
   * service user holds a token. Throws KeystoneUnavailableError saying why.
   */
  async probe(timeoutMs = 1000): Promise<void> {
    await callKeystone('GET', this.session.authUrl, {}, timeoutMs);
    try {
      await this.session.token();
    } catch (error) {
      if (error instanceof KeystoneAuthenticationError) {
        throw new KeystoneUnavailableError('POST', `${this.session.authUrl}/auth/tokens`, error.message, error.status);
      }
      throw error;
    }
  }

  private async check(token: string, which: 'X-Auth-Token' | 'X-Service-Token'): Promise<TokenIdentity> {
    try {
      return await this.validator.validate(token);
    } catch (error) {
      if (error instanceof InvalidTokenError) throw new UnauthenticatedError(which, 'invalid');
      throw error;
    }
  }
}

/**
 * keystonemiddleware's `www_authenticate_uri` when none is configured: the
 * identity endpoint without its version (`http://ks:5000/v3` -> `http://ks:5000`).
 */
export function wwwAuthenticateUri(authUrl: string): string {
  return authUrl.replace(/\/+$/, '').replace(/\/v3$/, '');
}
