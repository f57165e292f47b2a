import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Request } from 'express';
import { InvalidTokenError, KeystoneSession, TokenValidator } from '@cyborg/keystone';
import {
  CONSOLE_SESSION_OPTIONS,
  ConsoleSessionController,
  type ConsoleSessionBody,
} from '../../apps/api/src/console/console-session.controller';
import { ConsoleSignIn } from '../../apps/api/src/console/console-sign-in';
import { HttpErrorFilter } from '../../apps/api/src/http/http-error.filter';
import { consoleTokenOf } from '../../apps/api/src/http/console-session';
import { KEYSTONE_START_TIMEOUT_MS, passwordOf, TestKeystone } from '../support/keystone';
import { quietLogger } from '../support/logger';

/**
 * Signing into the console against a real Keystone: the API logs in with
 * the person's user and password, keeps the token in an HttpOnly,
 * SameSite=Strict cookie, checks it with the token validator on every
 * look-up, and revokes it on sign-out. Sign-in and sign-out need the
 * double-submitted CSRF value.
 */
let keystone: TestKeystone;
let app: NestExpressApplication;
let url: string;
let validator: TokenValidator;

interface Answer {
  status: number;
  body: ConsoleSessionBody & { error_message?: string };
  cookies: string[];
}

async function call(method: string, options: { cookie?: string; csrf?: string; json?: unknown } = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (options.cookie) headers.Cookie = options.cookie;
  if (options.csrf) headers['X-Console-CSRF'] = options.csrf;
  if (options.json !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(`${url}/console/session`, {
    method,
    headers,
    body: options.json === undefined ? undefined : JSON.stringify(options.json),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null, cookies: response.headers.getSetCookie() };
}

/** `name=value` of a Set-Cookie line, for the next request's Cookie header. */
const pair = (setCookie: string) => setCookie.split(';')[0];
const cookieNamed = (answer: Answer, name: string) => answer.cookies.find((c) => c.startsWith(`${name}=`));

/** A fresh visitor: the CSRF cookie and value the console's script gets first. */
async function visit(): Promise<{ csrf: string; cookie: string }> {
  const answer = await call('GET');
  expect(answer.status).toBe(200);
  return { csrf: answer.body.csrf_token, cookie: pair(cookieNamed(answer, 'cyborg_console_csrf')!) };
}

async function signIn(username: string, projectName: string) {
  const visitor = await visit();
  const answer = await call('POST', {
    ...visitor,
    json: { username, password: passwordOf(username), project_name: projectName },
  });
  const token = cookieNamed(answer, 'cyborg_console_token');
  return { answer, visitor, token, cookie: token ? `${visitor.cookie}; ${pair(token)}` : visitor.cookie };
}

beforeAll(async () => {
  keystone = await TestKeystone.shared();
  validator = new TokenValidator({
    session: new KeystoneSession({
      authUrl: keystone.authUrl,
      credentials: { type: 'password', username: 'cyborg', password: passwordOf('cyborg'), projectName: 'service' },
    }),
    cacheTtlSeconds: 0,
  });
  @Module({
    controllers: [ConsoleSessionController],
    providers: [
      {
        provide: CONSOLE_SESSION_OPTIONS,
        useValue: {
          authStrategy: 'keystone',
          signIn: new ConsoleSignIn(keystone.authUrl, validator),
          cookiesAlwaysSecure: false,
        },
      },
    ],
  })
  class SignInModule {}
  app = await NestFactory.create<NestExpressApplication>(SignInModule, { logger: quietLogger });
  app.useGlobalFilters(new HttpErrorFilter());
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  url = `http://127.0.0.1:${address.port}`;
}, KEYSTONE_START_TIMEOUT_MS);

afterAll(async () => {
  await app?.close();
  await keystone?.stop();
});

describe('console sign-in with Keystone', () => {
  it('starts signed out, with a CSRF value in a SameSite=Strict cookie the script can read', async () => {
    const answer = await call('GET');
    expect(answer.body).toMatchObject({ auth_strategy: 'keystone', signed_in: false, user: null, admin: false });
    const csrf = cookieNamed(answer, 'cyborg_console_csrf')!;
    expect(csrf).toContain(`cyborg_console_csrf=${answer.body.csrf_token}`);
    expect(csrf).toContain('SameSite=Strict');
    expect(csrf).not.toContain('HttpOnly');
  });

  it("signs a project member in: the token goes into an HttpOnly, SameSite=Strict cookie and never into the page's reach", async () => {
    const { answer, token } = await signIn('demo-member', 'demo');
    expect(answer.status).toBe(201);
    expect(answer.body).toMatchObject({
      signed_in: true,
      user: { name: 'demo-member', id: keystone.personas.member.userId },
      project: { name: 'demo', id: keystone.projects.demo.id },
      admin: false,
    });
    expect(answer.body.roles).toEqual(expect.arrayContaining(['member', 'reader']));
    expect(token).toMatch(/^cyborg_console_token=[^;]+; Path=\/; Max-Age=\d+; SameSite=Strict; HttpOnly$/);
    const value = decodeURIComponent(pair(token!).split('=')[1]);
    expect(JSON.stringify(answer.body)).not.toContain(value);
    // The cookie holds a real Keystone token for that person.
    const identity = await validator.validate(value);
    expect(identity).toMatchObject({ userName: 'demo-member', projectId: keystone.projects.demo.id });
  });

  it('knows who is signed in from the cookie alone, checked against Keystone', async () => {
    const { cookie } = await signIn('admin', 'admin');
    const answer = await call('GET', { cookie });
    expect(answer.body).toMatchObject({
      signed_in: true,
      user: { name: 'admin' },
      project: { name: 'admin' },
      admin: true,
    });
  });

  it('gives the Keystone guard the cookie token on reads, and on other requests only with the CSRF value', async () => {
    const { cookie, visitor, token } = await signIn('demo-reader', 'demo');
    const value = decodeURIComponent(pair(token!).split('=')[1]);
    const request = (method: string, headers: Record<string, string>) =>
      ({ method, get: (name: string) => headers[name.toLowerCase()] }) as unknown as Request;
    expect(consoleTokenOf(request('GET', { cookie }))).toBe(value);
    expect(consoleTokenOf(request('POST', { cookie }))).toBeNull();
    expect(consoleTokenOf(request('POST', { cookie, 'x-console-csrf': 'forged' }))).toBeNull();
    expect(consoleTokenOf(request('POST', { cookie, 'x-console-csrf': visitor.csrf }))).toBe(value);
    expect(consoleTokenOf(request('GET', {}))).toBeNull();
  });

  it('refuses a sign-in without the CSRF value (403), and a wrong password (401), in Cyborg’s error shape', async () => {
    const noCsrf = await call('POST', { json: { username: 'demo-member', password: passwordOf('demo-member') } });
    expect(noCsrf.status).toBe(403);
    expect(noCsrf.body.error_message).toContain('CSRF');
    expect(noCsrf.cookies.some((c) => c.startsWith('cyborg_console_token='))).toBe(false);

    const visitor = await visit();
    const wrong = await call('POST', {
      ...visitor,
      json: { username: 'demo-member', password: 'not-the-password', project_name: 'demo' },
    });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error_message).toContain('Keystone did not accept user demo-member on project demo');
    expect(wrong.cookies.some((c) => c.startsWith('cyborg_console_token='))).toBe(false);
  });

  it('answers bad sign-in bodies with a 400 that says what to send', async () => {
    const visitor = await visit();
    const cases: [unknown, string][] = [
      [['demo-member'], 'Sign in with a JSON object'],
      [{ username: 'demo-member' }, 'password is required'],
      [{ username: 'demo-member', password: 42 }, 'password must be a string'],
      [{ username: 'demo-member', password: 'x', project: 'demo' }, 'Unknown sign-in field: \\"project\\"'],
      [{ username: 'x'.repeat(300), password: 'x' }, 'username is longer than 255 characters'],
    ];
    for (const [json, message] of cases) {
      const answer = await call('POST', { ...visitor, json });
      expect({ status: answer.status, message: answer.body.error_message }).toEqual({
        status: 400,
        message: expect.stringContaining(message),
      });
    }
  });

  it('signs out: the token is revoked in Keystone and the cookie cleared', async () => {
    const { cookie, visitor, token } = await signIn('demo-manager', 'demo');
    const value = decodeURIComponent(pair(token!).split('=')[1]);
    expect((await call('DELETE', { cookie })).status).toBe(403);
    const out = await call('DELETE', { cookie, csrf: visitor.csrf });
    expect(out.status).toBe(204);
    expect(cookieNamed(out, 'cyborg_console_token')).toContain('Max-Age=0');
    await expect(validator.validate(value)).rejects.toBeInstanceOf(InvalidTokenError);
    const after = await call('GET', { cookie });
    expect(after.body.signed_in).toBe(false);
  });
});
