import type { LoggerService } from '@nestjs/common';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Settings } from '@cyborg/config';
import {
  KeystoneSession,
  KeystoneUnavailableError,
  RequestAuthenticator,
  serviceSessionOptions,
  serviceTokenRoles,
  TokenValidator,
  UnauthenticatedError,
  wwwAuthenticateUri,
} from '@cyborg/keystone';
import { callerFromHeaders, callerFromTokens, setCaller } from './caller';
import { consoleTokenOf } from './console-session';
import { cyborgErrorBody } from './cyborg-error';

/** Token validation for AUTH_STRATEGY=keystone: the validator and what a 401 tells clients. */
export interface KeystoneAuth {
  authenticator: RequestAuthenticator;
  validator: TokenValidator;
  /** `WWW-Authenticate` of every 401: `Keystone uri="..."`. */
  wwwAuthenticate: string;
}

/** Injection token of the API's KeystoneAuth (null under noauth). */
export const KEYSTONE_AUTH = Symbol('KEYSTONE_AUTH');

/** The API's Keystone client: its service user validates every request's tokens. */
export function keystoneAuth(settings: Settings): KeystoneAuth {
  const session = new KeystoneSession(serviceSessionOptions(settings));
  const validator = new TokenValidator({
    session,
    cacheTtlSeconds: settings.TOKEN_CACHE_TTL_SECONDS,
    serviceRoles: serviceTokenRoles(settings.SERVICE_TOKEN_ROLES),
  });
  const uri = settings.KEYSTONE_WWW_AUTHENTICATE_URI ?? wwwAuthenticateUri(settings.KEYSTONE_AUTH_URL!);
  return {
    authenticator: new RequestAuthenticator(validator, session),
    validator,
    wwwAuthenticate: `Keystone uri="${uri}"`,
  };
}

/**
 * Version discovery is open, as upstream's auth_token `public_api_routes`
 * (`/` and `/v2`, a trailing `/` or `.json` allowed), so clients find the
 * API before they hold a token; `/healthz` (and `/healthz/live`, `/ready`) is
 * open for load balancers and `/openapi.json` for tools, as oslo.middleware's
 * healthcheck is; `/metrics` asks no Keystone token but its own bearer token
 * (METRICS_TOKEN, guarded before this: Prometheus holds no Keystone token); the
 * console's page and its sign-in (`/console/...`) are open so a person can
 * sign in: everything they show comes from the guarded API.
 */
function isPublic(path: string): boolean {
  const trimmed = path.replace(/\/+$/, '');
  return (
    [
      '',
      '/.json',
      '/v2',
      '/v2.json',
      '/healthz',
      '/healthz/live',
      '/healthz/ready',
      '/metrics',
      '/openapi.json',
    ].includes(trimmed) || /^\/console(\/|$)/.test(trimmed)
  );
}

const header = (request: Request, name: string): string | null => request.get(name)?.trim() || null;

/**
 * Who each request speaks for, before anything reads it: under keystone the
 * tokens Keystone validates (401 when they do not, 503 when Keystone cannot
 * be asked, never the headers); under noauth the identity headers.
 */
export function authentication(keystone: KeystoneAuth | null, logger: LoggerService): RequestHandler {
  if (!keystone) {
    return (request: Request, _response: Response, next: NextFunction) => {
      setCaller(request, callerFromHeaders(request));
      next();
    };
  }
  return (request: Request, response: Response, next: NextFunction) => {
    // A console page's requests carry the signed-in token in its cookie (with the CSRF value on writes).
    const userToken = header(request, 'X-Auth-Token') ?? consoleTokenOf(request);
    const tokens = { userToken, serviceToken: header(request, 'X-Service-Token') };
    const open = isPublic(request.path);
    if (open && !tokens.userToken) return next();
    keystone.authenticator.authenticate(tokens).then(
      (auth) => {
        setCaller(request, callerFromTokens(request, auth));
        next();
      },
      (error: unknown) => {
        // An open route answers anyway, as to a request without a token.
        if (open) return next();
        if (error instanceof UnauthenticatedError) {
          response.setHeader('WWW-Authenticate', keystone.wwwAuthenticate);
          response
            .status(401)
            .json(cyborgErrorBody(401, `The request you have made requires authentication: ${error.message}.`));
          return;
        }
        const unavailable = error instanceof KeystoneUnavailableError;
        logger.error({
          msg: unavailable ? 'cannot validate tokens: Keystone is unavailable' : 'token validation failed',
          error: error instanceof Error ? error.message : String(error),
          requestId: response.getHeader('x-openstack-request-id'),
        });
        response
          .status(503)
          .json(
            cyborgErrorBody(503, 'The request cannot be authenticated: Keystone is unavailable. Try again shortly.'),
          );
      },
    );
  };
}
