import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCheck } from './check';
import { type Credentials, Policy, PolicyFileError } from './policy';

const who = (roles: string[], extra: Partial<Credentials> = {}): Credentials => ({
  userId: 'u',
  projectId: 'p',
  roles,
  systemScope: null,
  ...extra,
});

describe('check strings', () => {
  it('parses and, or, not and parentheses with oslo.policy precedence', () => {
    expect(parseCheck('role:a or role:b and not role:c')).toEqual({
      kind: 'or',
      checks: [
        { kind: 'role', role: 'a' },
        {
          kind: 'and',
          checks: [
            { kind: 'role', role: 'b' },
            { kind: 'not', check: { kind: 'role', role: 'c' } },
          ],
        },
      ],
    });
    expect(parseCheck('(role:a or role:b) and @')).toMatchObject({ kind: 'and' });
  });

  it('refuses what it cannot read, naming it', () => {
    expect(() => parseCheck('role:a or')).toThrow(/ends where a check was expected/);
    expect(() => parseCheck('(role:a')).toThrow(/unclosed/);
    expect(() => parseCheck('admin')).toThrow(/"admin"/);
  });
});

describe('the default policy', () => {
  const policy = new Policy();

  it('lets members create ARQs and readers list them, but not create device profiles', () => {
    expect(policy.allows('cyborg:arq:create', who(['member', 'reader']))).toBe(true);
    expect(policy.allows('cyborg:arq:get_all', who(['reader']))).toBe(true);
    expect(policy.allows('cyborg:arq:create', who(['reader']))).toBe(false);
    expect(policy.allows('cyborg:device_profile:create', who(['member']))).toBe(false);
  });

  it('keeps device profiles and device maintenance to system admins', () => {
    expect(policy.allows('cyborg:device_profile:create', who(['admin']))).toBe(false);
    expect(policy.allows('cyborg:device_profile:create', who(['admin'], { systemScope: 'all' }))).toBe(true);
    expect(policy.allows('cyborg:device:disable', who(['admin'], { systemScope: 'all' }))).toBe(true);
  });

  it('gives accelerator_admin the deployable and attribute rules, and accelerator_user the ARQ ones', () => {
    expect(policy.allows('cyborg:deployable:program', who(['accelerator_admin']))).toBe(true);
    expect(policy.allows('cyborg:attribute:create', who(['accelerator_admin']))).toBe(true);
    expect(policy.allows('cyborg:arq:create', who(['accelerator_user']))).toBe(true);
    expect(policy.allows('cyborg:deployable:program', who(['accelerator_user']))).toBe(false);
  });

  it('matches target values and never passes an unknown rule', () => {
    const own = new Policy({ mine: 'project_id:%(project_id)s' });
    expect(own.allows('mine', who([]), { project_id: 'p' })).toBe(true);
    expect(own.allows('mine', who([]), { project_id: 'q' })).toBe(false);
    expect(own.allows('mine', who([]), {})).toBe(false);
    expect(policy.allows('cyborg:no_such:rule', who(['admin'], { systemScope: 'all' }))).toBe(false);
  });

  it('denies a circular rule instead of looping', () => {
    const loop = new Policy({ a: 'rule:b', b: 'rule:a' });
    expect(loop.allows('a', who(['admin']))).toBe(false);
  });
});

describe('an operator policy file', () => {
  const file = (text: string) => {
    const path = join(mkdtempSync(join(tmpdir(), 'cyborg-policy-')), 'policy.yaml');
    writeFileSync(path, text);
    return path;
  };

  it('overrides rule by rule and keeps the other defaults', () => {
    const policy = Policy.fromFile(file('accelerator_user: "role:accelerator_user"\nsystem_admin: "role:admin"\n'));
    expect(policy.allows('cyborg:arq:create', who(['member']))).toBe(false);
    expect(policy.allows('cyborg:arq:create', who(['accelerator_user']))).toBe(true);
    expect(policy.allows('cyborg:device_profile:create', who(['admin']))).toBe(true);
    expect(policy.allows('cyborg:arq:get_all', who(['reader']))).toBe(true);
  });

  it('reads JSON as well, and stops with a message naming a bad rule', () => {
    expect(Policy.fromFile(file('{"cyborg:arq:create": "!"}')).allows('cyborg:arq:create', who(['admin']))).toBe(false);
    expect(() => Policy.fromFile(file('cyborg:arq:create: "role:a or"'))).toThrow(PolicyFileError);
    expect(() => Policy.fromFile(file('cyborg:arq:create: "role:a or"'))).toThrow(/cyborg:arq:create/);
    expect(() => Policy.fromFile(file('- a list'))).toThrow(/must map rule names/);
  });
});
