import { callKeystone, errorDetail, v3Url } from './http';

/**
 * Revokes a token with itself as authority (`DELETE /v3/auth/tokens`, a user
 * may always revoke its own token), as signing out should. A token Keystone
 * no longer knows counts as revoked; an unreachable Keystone is
 * KeystoneUnavailableError.
 */
export async function revokeToken(authUrl: string, token: string, timeoutMs = 10_000): Promise<void> {
  const url = `${v3Url(authUrl)}/auth/tokens`;
  const answer = await callKeystone('DELETE', url, { 'x-auth-token': token, 'x-subject-token': token }, timeoutMs);
  if (answer.status === 204 || answer.status === 404 || answer.status === 401) return;
  throw new Error(`Keystone refused to revoke the token (${answer.status}): ${errorDetail(answer)}`);
}
