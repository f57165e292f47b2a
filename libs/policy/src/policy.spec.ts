import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseCheck } from './check';
import { DEFAULT_RULES } from './defaults';
import { type Credentials, Policy, PolicyFileError, tokenScopeOf } from './policy';

const who = (roles: string[], extra: Partial<Credentials> = {}): Credentials => ({
  userId: 'u',
  projectId: 'p',
  roles,
  systemScope: null,
  ...extra,
});
// Keystone's implied roles: admin => manager => member => reader.
const admin = who(['admin', 'manager', 'member', 'reader']);
const manager = who(['manager', 'member', 'reader']);
const member = who(['member', 'reader']);
const reader = who(['reader']);
const nova = who(['service'], { userId: 'nova', projectId: 'service' });
const systemAdmin = who(['admin', 'manager', 'member', 'reader'], { projectId: null, systemScope: 'all' });
const noProject = who(['member', 'reader'], { projectId: null });

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

describe('the default policy: upstream master, 2023 secure RBAC', () => {
  const policy = new Policy();
  const allowed = (rule: string) =>
    Object.entries({ admin, manager, member, reader, nova, systemAdmin, noProject })
      .filter(([, credentials]) => policy.allows(rule, credentials))
      .map(([name]) => name);

  it('lets readers read ARQs and device profiles, members and services write ARQs', () => {
    expect(allowed('cyborg:arq:get_all')).toEqual(['admin', 'manager', 'member', 'reader']);
    expect(allowed('cyborg:arq:get_one')).toEqual(['admin', 'manager', 'member', 'reader']);
    for (const action of ['create', 'update', 'delete']) {
      expect(allowed(`cyborg:arq:${action}`)).toEqual(['admin', 'manager', 'member', 'nova']);
    }
    expect(allowed('cyborg:device_profile:get_all')).toEqual(['admin', 'manager', 'member', 'reader']);
  });

  it('lets managers read devices, deployables and attributes, and only admins change them', () => {
    for (const resource of ['device', 'deployable', 'attribute']) {
      expect(allowed(`cyborg:${resource}:get_all`)).toEqual(['admin', 'manager']);
      expect(allowed(`cyborg:${resource}:get_one`)).toEqual(['admin', 'manager']);
    }
    for (const rule of [
      'cyborg:device_profile:create',
      'cyborg:device_profile:delete',
      'cyborg:device:disable',
      'cyborg:device:enable',
      'cyborg:deployable:program',
      'cyborg:attribute:create',
      'cyborg:attribute:delete',
      'cyborg:placement_sync:get',
    ]) {
      expect({ rule, allowed: allowed(rule) }).toEqual({ rule, allowed: ['admin'] });
    }
  });

  it("keeps the whole log and every project's usage to the admin; a project reads its own", () => {
    expect(allowed('cyborg:event:get_all')).toEqual(['admin', 'manager', 'member', 'reader']);
    expect(allowed('cyborg:arq:history')).toEqual(['admin', 'manager', 'member', 'reader']);
    expect(allowed('cyborg:usage:get')).toEqual(['admin', 'manager', 'member', 'reader']);
    expect(allowed('cyborg:event:get_all_projects')).toEqual(['admin']);
    expect(allowed('cyborg:usage:get_all_projects')).toEqual(['admin']);
    expect(allowed('cyborg:device:history')).toEqual(['admin']);
    expect(allowed('cyborg:host:history')).toEqual(['admin']);
  });

  it('refuses system- and domain-scoped tokens on every API rule, as upstream scopes them all to projects', () => {
    const domainAdmin = who(['admin'], { projectId: null, domainId: 'default' });
    expect(tokenScopeOf(systemAdmin)).toBe('system');
    expect(tokenScopeOf(domainAdmin)).toBe('domain');
    expect(tokenScopeOf(admin)).toBe('project');
    for (const rule of DEFAULT_RULES.filter((r) => r.name.startsWith('cyborg:'))) {
      expect(rule.scopeTypes).toEqual(['project']);
      expect({ rule: rule.name, system: policy.allows(rule.name, systemAdmin) }).toEqual({
        rule: rule.name,
        system: false,
      });
      expect(policy.allows(rule.name, domainAdmin)).toBe(false);
    }
    // A base rule has no scope: only the rule a request is checked against does.
    expect(policy.allows('admin_api', systemAdmin)).toBe(true);
  });

  it('matches target values and never passes an unknown rule', () => {
    const own = new Policy({ mine: 'project_id:%(project_id)s' });
    expect(own.allows('mine', who([]), { project_id: 'p' })).toBe(true);
    expect(own.allows('mine', who([]), { project_id: 'q' })).toBe(false);
    expect(own.allows('mine', who([]), {})).toBe(false);
    expect(own.allows('mine', who([]))).toBe(true); // the caller's own project, as upstream's target
    expect(own.allows('mine', noProject)).toBe(false);
    expect(policy.allows('cyborg:no_such:rule', admin)).toBe(false);
  });

  it('denies a circular rule instead of looping', () => {
    const loop = new Policy({ a: 'rule:b', b: 'rule:a' });
    expect(loop.allows('a', admin)).toBe(false);
  });
});

describe('enforce_scope = false', () => {
  it('lets the check decide for a system-scoped token, and says so', () => {
    const heard: string[] = [];
    const policy = new Policy(
      {},
      { enforceScope: false, onScopeMismatch: (rule, scope) => heard.push(`${rule} ${scope}`) },
    );
    expect(policy.allows('cyborg:device:get_all', systemAdmin)).toBe(true);
    expect(policy.allows('cyborg:device:get_all', who(['reader'], { projectId: null, systemScope: 'all' }))).toBe(
      false,
    );
    expect(heard).toEqual(['cyborg:device:get_all system', 'cyborg:device:get_all system']);
    expect(policy.allows('cyborg:device:get_all', admin)).toBe(true);
    expect(heard).toHaveLength(2);
  });
});

describe('enforce_new_defaults = false (upstream master transition mode)', () => {
  const legacy = new Policy({}, { enforceNewDefaults: false });

  it("ORs each rule's deprecated check in: any token of a project passes the persona rules", () => {
    expect(legacy.allows('cyborg:arq:create', reader)).toBe(true);
    expect(legacy.allows('cyborg:device:get_all', reader)).toBe(true);
    expect(legacy.allows('cyborg:usage:get', nova)).toBe(true);
    expect(new Policy().allows('cyborg:arq:create', reader)).toBe(false);
  });

  it('keeps admin-only rules admin-only, and a project-less non-admin out', () => {
    expect(legacy.allows('cyborg:device_profile:create', member)).toBe(false);
    expect(legacy.allows('cyborg:deployable:program', manager)).toBe(false);
    expect(legacy.allows('cyborg:usage:get_all_projects', member)).toBe(false);
    expect(legacy.allows('cyborg:arq:create', noProject)).toBe(false);
  });

  it('uses a rule the policy file overrides as written, without the deprecated check', () => {
    const overridden = new Policy({ 'cyborg:arq:create': 'rule:project_member_api' }, { enforceNewDefaults: false });
    expect(overridden.allows('cyborg:arq:create', reader)).toBe(false);
    expect(overridden.allows('cyborg:arq:create', member)).toBe(true);
  });
});

describe('an operator policy file', () => {
  const file = (text: string) => {
    const path = join(mkdtempSync(join(tmpdir(), 'cyborg-policy-')), 'policy.yaml');
    writeFileSync(path, text);
    return path;
  };

  it('overrides rule by rule and keeps the other defaults', () => {
    const policy = Policy.fromFile(
      file('"cyborg:arq:create": "role:accelerator_user"\nadmin_api: "role:cloud_admin"\n'),
    );
    expect(policy.allows('cyborg:arq:create', member)).toBe(false);
    expect(policy.allows('cyborg:arq:create', who(['accelerator_user']))).toBe(true);
    expect(policy.allows('cyborg:device_profile:create', admin)).toBe(false);
    expect(policy.allows('cyborg:device_profile:create', who(['cloud_admin']))).toBe(true);
    expect(policy.allows('cyborg:arq:get_all', reader)).toBe(true);
  });

  it('keeps the scope of a rule it overrides', () => {
    const policy = Policy.fromFile(file('"cyborg:device:get_all": "@"\n'));
    expect(policy.allows('cyborg:device:get_all', reader)).toBe(true);
    expect(policy.allows('cyborg:device:get_all', systemAdmin)).toBe(false);
  });

  it('gives the Feb 2020 roles their rights through deploy/policy/accelerator-roles.yaml', () => {
    const policy = Policy.fromFile(resolve('deploy/policy/accelerator-roles.yaml'));
    const acceleratorUser = who(['accelerator_user']);
    const acceleratorAdmin = who(['accelerator_admin']);
    for (const action of ['get_all', 'get_one', 'create', 'update', 'delete', 'history']) {
      expect(policy.allows(`cyborg:arq:${action}`, acceleratorUser)).toBe(true);
      expect(policy.allows(`cyborg:arq:${action}`, member)).toBe(false);
    }
    expect(policy.allows('cyborg:arq:create', nova)).toBe(true);
    expect(policy.allows('cyborg:arq:create', who(['accelerator_user'], { projectId: null }))).toBe(false);
    expect(policy.allows('cyborg:device_profile:get_all', acceleratorUser)).toBe(true);
    expect(policy.allows('cyborg:device_profile:get_all', reader)).toBe(true);
    for (const rule of [
      'cyborg:device_profile:create',
      'cyborg:device:disable',
      'cyborg:deployable:program',
      'cyborg:attribute:create',
      'cyborg:event:get_all_projects',
      'cyborg:usage:get_all_projects',
    ]) {
      expect({
        rule,
        admin: policy.allows(rule, acceleratorAdmin),
        user: policy.allows(rule, acceleratorUser),
      }).toEqual({
        rule,
        admin: true,
        user: false,
      });
      expect(policy.allows(rule, admin)).toBe(true);
      expect(policy.allows(rule, manager)).toBe(false);
    }
    expect(policy.allows('cyborg:device:get_all', systemAdmin)).toBe(false);
  });

  it('reads JSON as well, and stops with a message naming a bad rule', () => {
    expect(Policy.fromFile(file('{"cyborg:arq:create": "!"}')).allows('cyborg:arq:create', admin)).toBe(false);
    expect(() => Policy.fromFile(file('cyborg:arq:create: "role:a or"'))).toThrow(PolicyFileError);
    expect(() => Policy.fromFile(file('cyborg:arq:create: "role:a or"'))).toThrow(/cyborg:arq:create/);
    expect(() => Policy.fromFile(file('- a list'))).toThrow(/must map rule names/);
  });
});
