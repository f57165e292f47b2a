import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';

/**
 * The web console's session, in two cookies:
 * - `cyborg_console_token`: the Keystone token the API obtained at sign-in;
 *   HttpOnly (no script reads it), SameSite=Strict (no other site's page
 *   makes the browser send it), Path=/ (the console calls the REST API).
 * - `cyborg_console_csrf`: a random value the console's script reads from
 *   `GET /console/session` and echoes in `X-Console-CSRF` (double submit):
 *   a request that changes anything must carry both, equal.
 *
 * The Keystone auth strategy takes a request's token from `X-Auth-Token`,
 * else from this cookie through `consoleTokenOf`: the one place the cookie
 * becomes a token.
 */
export const CONSOLE_TOKEN_COOKIE = 'cyborg_console_token';
export const CONSOLE_CSRF_COOKIE = 'cyborg_console_csrf';
export const CONSOLE_CSRF_HEADER = 'X-Console-CSRF';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The cookies of a request, by name (first of each); values URI-decoded when they decode. */
export function cookiesOf(request: Request): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of (request.get('cookie') ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    if (cookies.has(name)) continue;
    const raw = part.slice(eq + 1).trim();
    try {
      cookies.set(name, decodeURIComponent(raw));
    } catch {
      cookies.set(name, raw);
    }
  }
  return cookies;
}

/** True when the request carries the CSRF cookie and an equal `X-Console-CSRF` header. */
export function hasConsoleCsrf(request: Request): boolean {
  const cookie = cookiesOf(request).get(CONSOLE_CSRF_COOKIE);
  const header = request.get(CONSOLE_CSRF_HEADER);
  if (!cookie || !header || cookie.length !== header.length) return false;
  return timingSafeEqual(Buffer.from(cookie), Buffer.from(header));
}

/**
 * The console session's token, for the Keystone guard: the cookie's token on
 * a safe request (reads: SameSite=Strict keeps other sites from sending it,
 * the same-origin rule from reading the answer), and on any other only with
 * the double-submitted CSRF value. Null when there is none to use.
 */
export function consoleTokenOf(request: Request): string | null {
  const token = cookiesOf(request).get(CONSOLE_TOKEN_COOKIE);
  if (!token) return null;
  if (!SAFE_METHODS.has(request.method.toUpperCase()) && !hasConsoleCsrf(request)) return null;
  return token;
}

export interface CookieOptions {
  /** Send over HTTPS only. */
  secure: boolean;
}

const attributes = (secure: boolean, maxAgeSeconds: number, httpOnly: boolean) =>
  [
    'Path=/',
    `Max-Age=${Math.max(0, Math.floor(maxAgeSeconds))}`,
    'SameSite=Strict',
    httpOnly ? 'HttpOnly' : null,
    secure ? 'Secure' : null,
  ]
    .filter(Boolean)
    .join('; ');

/** The CSRF value of the request's cookie, or a new one set on the response. */
export function ensureConsoleCsrf(request: Request, response: Response, options: CookieOptions): string {
  const existing = cookiesOf(request).get(CONSOLE_CSRF_COOKIE);
  if (existing && /^[A-Za-z0-9_-]{32,128}$/.test(existing)) return existing;
  const value = randomBytes(32).toString('base64url');
  response.append('Set-Cookie', `${CONSOLE_CSRF_COOKIE}=${value}; ${attributes(options.secure, 12 * 3600, false)}`);
  return value;
}

/** Keeps the token until it expires. */
export function setConsoleToken(response: Response, token: string, expiresAt: Date, options: CookieOptions): void {
  const seconds = (expiresAt.getTime() - Date.now()) / 1000;
  response.append(
    'Set-Cookie',
    `${CONSOLE_TOKEN_COOKIE}=${encodeURIComponent(token)}; ${attributes(options.secure, seconds, true)}`,
  );
}

export function clearConsoleToken(response: Response, options: CookieOptions): void {
  response.append('Set-Cookie', `${CONSOLE_TOKEN_COOKIE}=; ${attributes(options.secure, 0, true)}`);
}

/** Whether cookies should be `Secure`: always when configured, else when this request came over HTTPS. */
export function cookieOptionsFor(request: Request, alwaysSecure: boolean): CookieOptions {
  return { secure: alwaysSecure || request.secure };
}
