/** Keystone could not be reached, timed out, or answered 5xx (or something no caller can act on). */
export class KeystoneUnavailableError extends Error {
  override readonly name = 'KeystoneUnavailableError';

  constructor(
    readonly method: string,
    readonly url: string,
    readonly reason: string,
    readonly status: number | null = null,
  ) {
    super(`Keystone ${method} ${url} failed: ${reason}`);
  }
}

/** Keystone refused the credentials a session authenticates with (401 on POST /v3/auth/tokens, or 4xx). */
export class KeystoneAuthenticationError extends Error {
  override readonly name = 'KeystoneAuthenticationError';

  constructor(
    readonly status: number,
    readonly detail: string,
  ) {
    super(`Keystone refused the credentials (${status}): ${detail}`);
  }
}

/** A subject token that Keystone does not accept: unknown, malformed, expired or revoked. */
export class InvalidTokenError extends Error {
  override readonly name = 'InvalidTokenError';

  constructor(readonly reason: string) {
    super(`invalid token: ${reason}`);
  }
}

/** The token's service catalog has no endpoint of this type, interface and region. */
export class EndpointNotFoundError extends Error {
  override readonly name = 'EndpointNotFoundError';

  constructor(
    readonly serviceType: string,
    readonly endpointInterface: string,
    readonly region: string | null,
  ) {
    super(
      `no ${endpointInterface} endpoint of service type ${serviceType}${region ? ` in region ${region}` : ''} in the service catalog`,
    );
  }
}
