import { KeystoneUnavailableError } from './errors';

export interface KeystoneAnswer {
  status: number;
  headers: Headers;
  body: unknown;
}

/**
 * One call to Keystone. Unreachable, timed out, 5xx, or a body that is not
 * JSON: KeystoneUnavailableError. Any other status is the caller's to read.
 */
export async function callKeystone(
  method: string,
  url: string,
  headers: Record<string, string>,
  timeoutMs: number,
  body?: unknown,
): Promise<KeystoneAnswer> {
  let response: Response;
  let text: string;
  try {
    response = await fetch(url, {
      method,
      headers: {
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    text = await response.text();
  } catch (error) {
    const reason =
      error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error);
    throw new KeystoneUnavailableError(method, url, reason);
  }
  if (response.status >= 500) {
    throw new KeystoneUnavailableError(method, url, `answered ${response.status}`, response.status);
  }
  let parsed: unknown = null;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new KeystoneUnavailableError(method, url, `answered ${response.status} with a body that is not JSON`);
    }
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

/** Keystone's `{"error": {"message": ...}}`, or the status when there is none. */
export function errorDetail(answer: KeystoneAnswer): string {
  const error = (answer.body as { error?: { message?: unknown } } | null)?.error;
  return typeof error?.message === 'string' ? error.message : `status ${answer.status}`;
}

/** `http://host:5000/v3/` and `http://host:5000` both become `http://host:5000/v3`. */
export function v3Url(authUrl: string): string {
  const base = authUrl.replace(/\/+$/, '');
  return /\/v3$/.test(base) ? base : `${base}/v3`;
}
