import { Writable } from 'node:stream';
import { createLogger, withoutCredentials } from './logger';
import { isRequestId, withLogContext } from './log-context';

/** A logger writing into memory, at every level. */
function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  const logger = createLogger('test', { LOG_LEVEL: 'verbose', LOG_FORMAT: 'json' }, { destination });
  return { logger, lines, text: () => lines.join('\n') };
}

const SECRETS = {
  token: 'gAAAAABtoken-abc123',
  subject: 'gAAAAABsubject-def456',
  service: 'gAAAAABservice-ghi789',
  password: 'hunter2-service-password',
  appSecret: 'app-cred-secret-xyz',
  dbPassword: 'db-pa55word',
  natsPassword: 'nats-pa55word',
  nova: 'nova-token-0000',
  glance: 'glance-token-1111',
};

it('never writes a secret, wherever it sits in what is logged', () => {
  const { logger, lines, text } = capture();
  logger.log({
    msg: 'incoming request',
    headers: {
      'x-auth-token': SECRETS.token,
      'x-subject-token': SECRETS.subject,
      'x-service-token': SECRETS.service,
      'content-type': 'application/json',
    },
  });
  logger.warn({ msg: 'a client call', req: { headers: { 'x-auth-token': SECRETS.token } } });
  logger.log({
    msg: 'settings',
    settings: {
      SERVICE_PASSWORD: SECRETS.password,
      SERVICE_APPLICATION_CREDENTIAL_SECRET: SECRETS.appSecret,
      DATABASE_URL: `postgres://cyborg:${SECRETS.dbPassword}@db:5432/cyborg`,
      NATS_URL: `nats://cyborg:${SECRETS.natsPassword}@nats-1:4222,nats://u:${SECRETS.natsPassword}@nats-2:4222`,
      NOVA_AUTH_TOKEN: SECRETS.nova,
      BITSTREAM_AUTH_TOKEN: SECRETS.glance,
      API_PORT: 6666,
    },
  });
  logger.debug({
    msg: 'keystone login',
    body: {
      auth: { identity: { methods: ['password'], password: { user: { name: 'cyborg', password: SECRETS.password } } } },
    },
  });
  logger.debug({
    msg: 'keystone login',
    body: { auth: { identity: { application_credential: { id: 'abc', secret: SECRETS.appSecret } } } },
  });
  logger.error({ msg: 'nova call failed', call: { token: SECRETS.nova } });
  logger.log({ msg: 'own fields', password: SECRETS.password, authToken: SECRETS.glance });

  expect(lines).toHaveLength(7);
  for (const secret of Object.values(SECRETS)) expect(text()).not.toContain(secret);
  const settings = JSON.parse(lines[2]).settings;
  // What is not secret stays readable: the user, host and port of a URL, other settings.
  expect(settings.DATABASE_URL).toBe('postgres://cyborg:[redacted]@db:5432/cyborg');
  expect(settings.NATS_URL).toBe('nats://cyborg:[redacted]@nats-1:4222,nats://u:[redacted]@nats-2:4222');
  expect(settings.API_PORT).toBe(6666);
  expect(JSON.parse(lines[0]).headers['content-type']).toBe('application/json');
  expect(JSON.parse(lines[0]).headers['x-auth-token']).toBe('[redacted]');
});

it('writes JSON lines with the service, the level and the request context', async () => {
  const { logger, lines } = capture();
  await withLogContext({ requestId: 'req-0b8b8f7e-1c1d-4c5e-9f00-111111111111', commandId: 'c-1' }, async () => {
    await Promise.resolve();
    logger.log({ msg: 'deciding' });
    logger.warn('a string message', 'bind-jobs');
  });
  logger.error('outside', 'stack trace here', 'http');
  const [first, second, third] = lines.map((l) => JSON.parse(l));
  expect(first).toMatchObject({
    level: 'info',
    service: 'test',
    msg: 'deciding',
    requestId: 'req-0b8b8f7e-1c1d-4c5e-9f00-111111111111',
    commandId: 'c-1',
  });
  expect(second).toMatchObject({ level: 'warn', msg: 'a string message', context: 'bind-jobs', commandId: 'c-1' });
  expect(third).toMatchObject({ level: 'error', msg: 'outside', context: 'http', stack: 'stack trace here' });
  expect(third.requestId).toBeUndefined();
});

it('takes only req-<uuid> as a request id, as oslo.middleware does', () => {
  expect(isRequestId('req-0b8b8f7e-1c1d-4c5e-9f00-111111111111')).toBe(true);
  expect(isRequestId('req-not-a-uuid')).toBe(false);
  expect(isRequestId('0b8b8f7e-1c1d-4c5e-9f00-111111111111')).toBe(false);
  expect(isRequestId('req-0b8b8f7e-1c1d-4c5e-9f00-111111111111\n{"level":"fatal"}')).toBe(false);
  expect(withoutCredentials('http://host:5000/v3')).toBe('http://host:5000/v3');
});

const FERNET =
  'gAAAAABmZ3x1Q2v4T0kenAbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCdEfGhIjKlMn';

it.each(['json', 'text'] as const)(
  'never prints the secret settings, or tokens written into free text (%s)',
  (format) => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const settings = {
      LOG_LEVEL: 'verbose',
      LOG_FORMAT: format,
      SERVICE_PASSWORD: 'correct-horse-battery',
      SERVICE_APPLICATION_CREDENTIAL_SECRET: 'app-cred-secret-value',
      NOVA_AUTH_TOKEN: 'nova-static-token',
    } as const;
    const logger = createLogger('api', settings, { destination });
    logger.log({ msg: 'logging in', user: 'cyborg' });
    logger.error(new Error(`Keystone refused correct-horse-battery with X-Auth-Token: ${FERNET}`));
    logger.debug(
      `app credential app-cred-id: app-cred-secret-value, then X-Service-Token=abc.def.ghi and token ${FERNET}`,
    );
    logger.fatal({ msg: 'nova said no', why: 'sent nova-static-token' });
    const text = lines.join('');
    for (const secret of [
      'correct-horse-battery',
      'app-cred-secret-value',
      'nova-static-token',
      'abc.def.ghi',
      FERNET.slice(0, 30),
    ]) {
      expect({ secret, found: text.includes(secret) }).toEqual({ secret, found: false });
    }
    // What is not secret still reads.
    expect(text).toContain('logging in');
    expect(text).toContain('app-cred-id');
    expect(text).toContain('Keystone refused');
    expect(text).toContain('[redacted]');
  },
);
