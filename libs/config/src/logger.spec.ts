import { createLogger } from './logger';
import { loadSettings } from './settings';

/** What the logger writes to stdout and stderr while `body` runs. */
function printed(body: () => void): string {
  const lines: string[] = [];
  const capture = (chunk: unknown) => {
    lines.push(String(chunk));
    return true;
  };
  const { stdout, stderr } = process;
  const writes = [stdout.write, stderr.write];
  stdout.write = stderr.write = capture as typeof stdout.write;
  try {
    body();
  } finally {
    [stdout.write, stderr.write] = writes;
  }
  return lines.join('');
}

const FERNET =
  'gAAAAABmZ3x1Q2v4T0kenAbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCdEfGhIjKlMn';

describe('the logger', () => {
  const settings = loadSettings({
    KEYSTONE_AUTH_URL: 'http://127.0.0.1:5000/v3',
    SERVICE_PASSWORD: 'correct-horse-battery',
    SERVICE_APPLICATION_CREDENTIAL_ID: 'app-cred-id',
    SERVICE_APPLICATION_CREDENTIAL_SECRET: 'app-cred-secret-value',
    NOVA_AUTH_TOKEN: 'nova-static-token',
  });

  it.each(['json', 'text'] as const)('never prints passwords, secrets or tokens (%s)', (format) => {
    const logger = createLogger('api', { ...settings, LOG_FORMAT: format, LOG_LEVEL: 'verbose' });
    const text = printed(() => {
      logger.log({ msg: 'logging in', password: 'correct-horse-battery', user: 'cyborg' });
      logger.warn({ msg: 'validating', headers: { 'X-Auth-Token': FERNET, 'x-service-token': 'svc-token-123' } });
      logger.error(new Error(`Keystone refused correct-horse-battery with X-Auth-Token: ${FERNET}`));
      logger.debug(
        `app credential app-cred-id: app-cred-secret-value, then X-Service-Token=abc.def.ghi and token ${FERNET}`,
      );
      logger.verbose({ msg: 'nested', auth: { identity: { application_credential: { secret: 'also-secret' } } } });
      logger.fatal({ msg: 'nova said no', why: 'sent nova-static-token' });
    });
    for (const secret of [
      'correct-horse-battery',
      'app-cred-secret-value',
      'nova-static-token',
      'svc-token-123',
      'abc.def.ghi',
      'also-secret',
      FERNET.slice(0, 30),
    ]) {
      expect({ secret, found: text.includes(secret) }).toEqual({ secret, found: false });
    }
    // What is not secret still reads.
    expect(text).toContain('logging in');
    expect(text).toContain('cyborg');
    expect(text).toContain('app-cred-id');
    expect(text).toContain('Keystone refused');
    expect(text).toContain('[redacted]');
  });
});
