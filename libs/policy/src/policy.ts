import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { type Check, InvalidCheckError, parseCheck } from './check';
import { DEFAULT_RULES } from './defaults';

/** What a caller presents, as oslo.context's policy values. */
export interface Credentials {
  userId: string | null;
  projectId: string | null;
  roles: readonly string[];
  systemScope: string | null;
}

/** What a rule is checked against; `%(name)s` in a check string reads from here. */
export type Target = Record<string, string | null | undefined>;

export class PolicyFileError extends Error {}

/** The rules in force: the defaults, each overridable by an operator's policy file. */
export class Policy {
  private readonly rules = new Map<string, Check>();

  constructor(overrides: Record<string, string> = {}) {
    for (const [name, text] of Object.entries({ ...DEFAULT_RULES, ...overrides })) {
      try {
        this.rules.set(name, parseCheck(text));
      } catch (error) {
        if (error instanceof InvalidCheckError) throw new PolicyFileError(`policy rule ${name}: ${error.message}`);
        throw error;
      }
    }
  }

  /** Reads a JSON or YAML file mapping rule names to check strings. */
  static fromFile(path: string | undefined): Policy {
    if (!path) return new Policy();
    let parsed: unknown;
    try {
      parsed = parseYaml(readFileSync(path, 'utf8')); // JSON is YAML too
    } catch (error) {
      throw new PolicyFileError(`policy file ${path}: ${(error as Error).message}`);
    }
    if (parsed === null || parsed === undefined) return new Policy();
    if (typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new PolicyFileError(`policy file ${path} must map rule names to check strings`);
    }
    const overrides: Record<string, string> = {};
    for (const [name, value] of Object.entries(parsed)) {
      if (typeof value !== 'string') throw new PolicyFileError(`policy file ${path}: rule ${name} must be a string`);
      overrides[name] = value;
    }
    return new Policy(overrides);
  }

  has(rule: string): boolean {
    return this.rules.has(rule);
  }

  /** Whether `credentials` pass `rule`; an unknown rule never passes. */
  allows(rule: string, credentials: Credentials, target: Target = {}): boolean {
    return this.evaluate({ kind: 'rule', name: rule }, credentials, target, new Set());
  }

  private evaluate(check: Check, credentials: Credentials, target: Target, seen: Set<string>): boolean {
    switch (check.kind) {
      case 'always':
        return true;
      case 'never':
        return false;
      case 'not':
        return !this.evaluate(check.check, credentials, target, seen);
      case 'and':
        return check.checks.every((c) => this.evaluate(c, credentials, target, seen));
      case 'or':
        return check.checks.some((c) => this.evaluate(c, credentials, target, seen));
      case 'role':
        return credentials.roles.some((role) => role.toLowerCase() === check.role.toLowerCase());
      case 'rule': {
        const rule = this.rules.get(check.name);
        if (!rule || seen.has(check.name)) return false; // unknown or circular: deny
        return this.evaluate(rule, credentials, target, new Set([...seen, check.name]));
      }
      case 'match':
        return this.match(check.key, check.value, credentials, target);
    }
  }

  private match(key: string, value: string, credentials: Credentials, target: Target): boolean {
    const substituted = value.replace(/^%\((\w+)\)s$/, (_, name: string) => target[name] ?? '\u0000');
    if (substituted === '\u0000') return false;
    const actual: Record<string, string | null> = {
      is_admin: credentials.roles.includes('admin') ? 'True' : 'False',
      project_id: credentials.projectId,
      user_id: credentials.userId,
      system_scope: credentials.systemScope,
    };
    const own = actual[key];
    return own !== null && own !== undefined && own.toLowerCase() === substituted.toLowerCase();
  }
}
