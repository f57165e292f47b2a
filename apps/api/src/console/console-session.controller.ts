import {
  BadRequestException,
  Body,
  Controller,
  Delete,
  ForbiddenException,
  Get,
  HttpCode,
  Inject,
  Post,
  Req,
  Res,
  ServiceUnavailableException,
  UnauthorizedException,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import { isAdmin } from '@cyborg/contracts';
import { KeystoneUnavailableError, type TokenIdentity } from '@cyborg/keystone';
import { callerFrom } from '../http/caller';
import {
  CONSOLE_CSRF_HEADER,
  clearConsoleToken,
  consoleTokenOf,
  cookieOptionsFor,
  ensureConsoleCsrf,
  hasConsoleCsrf,
  setConsoleToken,
} from '../http/console-session';
import { type ConsoleCredentials, ConsoleSignIn } from './console-sign-in';

/** How the console's session is set up: Keystone sign-in (null under noauth) and cookie security. */
export const CONSOLE_SESSION_OPTIONS = Symbol('CONSOLE_SESSION_OPTIONS');
export interface ConsoleSessionOptions {
  authStrategy: string;
  signIn: ConsoleSignIn | null;
  cookiesAlwaysSecure: boolean;
}

export interface ConsoleSessionBody {
  auth_strategy: string;
  signed_in: boolean;
  user: { id: string | null; name: string | null } | null;
  project: { id: string | null; name: string | null } | null;
  roles: string[];
  /** Sees every project (the `admin` role, as `visibilityOf` decides). */
  admin: boolean;
  expires_at: string | null;
  /** Echo it in `X-Console-CSRF` on sign-in and sign-out. */
  csrf_token: string;
}

const MAX_FIELD = 255;

/**
 * The console's session: who is signed in (`GET`), signing in with a
 * Keystone user and password (`POST`), signing out (`DELETE`). Under noauth
 * no one signs in: the console is whoever the request says, the
 * single-machine operator when it says nothing.
 */
@Controller('console/session')
export class ConsoleSessionController {
  constructor(@Inject(CONSOLE_SESSION_OPTIONS) private readonly options: ConsoleSessionOptions) {}

  @Get()
  async get(@Req() request: Request, @Res({ passthrough: true }) response: Response): Promise<ConsoleSessionBody> {
    response.set('Cache-Control', 'no-store');
    const csrf = ensureConsoleCsrf(request, response, this.cookieOptions(request));
    const signIn = this.options.signIn;
    if (!signIn) {
      const caller = callerFrom(request);
      return {
        auth_strategy: this.options.authStrategy,
        signed_in: true,
        user: { id: caller.userId ?? null, name: caller.userId ?? null },
        project: { id: caller.projectId ?? null, name: caller.projectId ?? null },
        roles: caller.roles,
        admin: isAdmin(caller.roles),
        expires_at: null,
        csrf_token: csrf,
      };
    }
    const token = consoleTokenOf(request);
    const identity = token ? await this.unlessUnavailable(() => signIn.identityOf(token)) : null;
    if (token && !identity) clearConsoleToken(response, this.cookieOptions(request));
    return this.body(identity, csrf);
  }

  @Post()
  async signIn(
    @Req() request: Request,
    @Res({ passthrough: true }) response: Response,
    @Body() body: unknown,
  ): Promise<ConsoleSessionBody> {
    response.set('Cache-Control', 'no-store');
    this.requireCsrf(request);
    const signIn = this.options.signIn;
    if (!signIn) {
      throw new BadRequestException(
        `AUTH_STRATEGY=${this.options.authStrategy}: the console needs no sign-in; identity comes from the request`,
      );
    }
    const credentials = credentialsOf(body);
    const outcome = await signIn.signIn(credentials);
    if (!outcome.ok) {
      if (outcome.reason === 'unavailable') {
        throw new ServiceUnavailableException(`Keystone cannot be reached to sign in: ${outcome.detail}`);
      }
      throw new UnauthorizedException(
        `Keystone did not accept user ${credentials.username}` +
          `${credentials.projectName ? ` on project ${credentials.projectName}` : ''}: check the name, password and project`,
      );
    }
    const options = this.cookieOptions(request);
    setConsoleToken(response, outcome.token, outcome.identity.expiresAt, options);
    return this.body(outcome.identity, ensureConsoleCsrf(request, response, options));
  }

  @Delete()
  @HttpCode(204)
  async signOut(@Req() request: Request, @Res({ passthrough: true }) response: Response): Promise<void> {
    this.requireCsrf(request);
    const token = consoleTokenOf(request);
    clearConsoleToken(response, this.cookieOptions(request));
    // Signing out ends the session here even when Keystone cannot revoke the token now.
    if (token && this.options.signIn) await this.options.signIn.signOut(token).catch(() => undefined);
  }

  private body(identity: TokenIdentity | null, csrf: string): ConsoleSessionBody {
    return {
      auth_strategy: this.options.authStrategy,
      signed_in: identity !== null,
      user: identity ? { id: identity.userId, name: identity.userName } : null,
      project: identity?.projectId ? { id: identity.projectId, name: identity.projectName } : null,
      roles: identity?.roles ?? [],
      admin: identity ? isAdmin(identity.roles) : false,
      expires_at: identity?.expiresAt.toISOString() ?? null,
      csrf_token: csrf,
    };
  }

  private requireCsrf(request: Request): void {
    if (!hasConsoleCsrf(request)) {
      throw new ForbiddenException(
        `The console's CSRF token is missing or wrong: send the csrf_token of GET /console/session in ${CONSOLE_CSRF_HEADER}`,
      );
    }
  }

  private cookieOptions(request: Request) {
    return cookieOptionsFor(request, this.options.cookiesAlwaysSecure);
  }

  private async unlessUnavailable<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (error instanceof KeystoneUnavailableError) {
        throw new ServiceUnavailableException(`Keystone cannot be reached to check the session: ${error.reason}`);
      }
      throw error;
    }
  }
}

function credentialsOf(body: unknown): ConsoleCredentials {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new BadRequestException(
      'Sign in with a JSON object: {"username": ..., "password": ..., "project_name": ...}',
    );
  }
  const fields = body as Record<string, unknown>;
  const text = (name: string, required: boolean): string | undefined => {
    const value = fields[name];
    if (value === undefined || value === null || value === '') {
      if (required) throw new BadRequestException(`${name} is required to sign in`);
      return undefined;
    }
    if (typeof value !== 'string') throw new BadRequestException(`${name} must be a string`);
    if (value.length > MAX_FIELD) throw new BadRequestException(`${name} is longer than ${MAX_FIELD} characters`);
    return value;
  };
  const known = ['username', 'password', 'project_name', 'user_domain_name', 'project_domain_name'];
  const unknown = Object.keys(fields).filter((k) => !known.includes(k));
  if (unknown.length > 0) throw new BadRequestException(`Unknown sign-in field: "${unknown[0]}"`);
  return {
    username: text('username', true)!,
    password: text('password', true)!,
    projectName: text('project_name', false),
    userDomainName: text('user_domain_name', false),
    projectDomainName: text('project_domain_name', false),
  };
}
