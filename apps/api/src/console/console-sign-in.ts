import {
  InvalidTokenError,
  KeystoneAuthenticationError,
  KeystoneSession,
  KeystoneUnavailableError,
  revokeToken,
  type TokenIdentity,
  TokenValidator,
} from '@cyborg/keystone';

/** What a person types into the console's sign-in form. */
export interface ConsoleCredentials {
  username: string;
  password: string;
  /** The project to scope the token to; the user's default project when absent. */
  projectName?: string;
  userDomainName?: string;
  projectDomainName?: string;
}

export type SignInOutcome =
  | { ok: true; token: string; identity: TokenIdentity }
  | { ok: false; reason: 'refused' | 'unavailable'; detail: string };

/**
 * Signs people into the console against Keystone: the API logs in with
 * their user and password (the browser never sees the token: it goes into
 * an HttpOnly cookie), validates the cookie's token on each look-up as every
 * token is validated, and revokes it on sign-out.
 */
export class ConsoleSignIn {
  constructor(
    private readonly authUrl: string,
    private readonly validator: TokenValidator,
  ) {}

  async signIn(credentials: ConsoleCredentials): Promise<SignInOutcome> {
    const session = new KeystoneSession({
      authUrl: this.authUrl,
      credentials: {
        type: 'password',
        username: credentials.username,
        password: credentials.password,
        userDomainName: credentials.userDomainName,
        projectName: credentials.projectName,
        projectDomainName: credentials.projectDomainName,
      },
    });
    try {
      const token = await session.token();
      return { ok: true, token, identity: await session.identity() };
    } catch (error) {
      if (error instanceof KeystoneAuthenticationError) return { ok: false, reason: 'refused', detail: error.detail };
      if (error instanceof KeystoneUnavailableError) return { ok: false, reason: 'unavailable', detail: error.reason };
      throw error;
    }
  }

  /** Who the cookie's token speaks for; null when Keystone no longer accepts it. */
  async identityOf(token: string): Promise<TokenIdentity | null> {
    try {
      return await this.validator.validate(token);
    } catch (error) {
      if (error instanceof InvalidTokenError) return null;
      throw error;
    }
  }

  async signOut(token: string): Promise<void> {
    // Forgotten first: the cached answer would let the token in until its cache time ran out.
    this.validator.forget(token);
    await revokeToken(this.authUrl, token);
  }
}
