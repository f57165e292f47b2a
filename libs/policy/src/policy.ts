import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { isAdmin } from '@cyborg/contracts';
import { type Check, InvalidCheckError, parseCheck } from './check';
import { DEFAULT_RULES, type RuleDefault, type TokenScope } from './defaults';

/** What a caller presents, as oslo.context's policy values (a `CallerDto` is one). */
export interface Credentials {
  userId?: string | null;
  projectId?: string | null;
  /** Set for a domain-scoped token. */
  domainId?: string | null;
  roles: readonly string[];
  /** `all` for a system-scoped token. */
  systemScope?: string | null;
}

/** How rules are enforced: oslo.policy's `[oslo_policy]` options of the same names. */
export interface PolicyOptions {
  /**
   * `enforce_scope`: a token whose scope is not among a rule's `scopeTypes`
   * is refused. When false, the rule's check decides and `onScopeMismatch`
   * hears of it (oslo.policy logged a warning; 6.0 removed the option and
   * always enforces).
   */
  enforceScope?: boolean;
  /**
   * `enforce_new_defaults`: only the 2023 defaults count. When false, each
   * rule that has a deprecated check and is not overridden by the policy file
   * passes on either (upstream master's transition mode).
   */
  enforceNewDefaults?: boolean;
  onScopeMismatch?: (rule: string, scope: TokenScope, scopeTypes: readonly TokenScope[]) => void;
}

/** The token's scope, as oslo.policy tells it: system, else domain, else project. */
export function tokenScopeOf(credentials: Credentials): TokenScope {
  if (credentials.systemScope) return 'system';
  if (credentials.domainId) return 'domain';
  return 'project';
}

/** What a rule is checked against; `%(name)s` in a check string reads from here. */
export type Target = Record<string, string | null | undefined>;

export class PolicyFileError extends Error {}

/**
 * The rules in force: the defaults, each overridable by an operator's policy
 * file, enforced as oslo.policy enforces them (both options on by default,
 * as in oslo.policy since 2024.2).
 */
export class Policy {
  private readonly rules = new Map<string, Check>();
  private readonly scopes = new Map<string, readonly TokenScope[]>();
  private readonly options: Required<Omit<PolicyOptions, 'onScopeMismatch'>> & Pick<PolicyOptions, 'onScopeMismatch'>;

  constructor(overrides: Record<string, string> = {}, options: PolicyOptions = {}) {
    this.options = { enforceScope: true, enforceNewDefaults: true, ...options };
    for (const rule of DEFAULT_RULES) {
      if (rule.scopeTypes?.length) this.scopes.set(rule.name, rule.scopeTypes);
      this.rules.set(rule.name, parse(rule.name, this.defaultCheck(rule, overrides)));
    }
    for (const [name, text] of Object.entries(overrides)) this.rules.set(name, parse(name, text));
  }

  /** Reads a JSON or YAML file mapping rule names to check strings. */
  static fromFile(path: string | undefined, options: PolicyOptions = {}): Policy {
    if (!path) return new Policy({}, options);
    let parsed: unknown;
    try {
      parsed = parseYaml(readFileSync(path, 'utf8')); // JSON is YAML too
    } catch (error) {
      throw new PolicyFileError(`policy file ${path}: ${(error as Error).message}`);
    }
    if (parsed === null || parsed === undefined) return new Policy({}, options);
    if (typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new PolicyFileError(`policy file ${path} must map rule names to check strings`);
    }
    const overrides: Record<string, string> = {};
    for (const [name, value] of Object.entries(parsed)) {
      if (typeof value !== 'string') throw new PolicyFileError(`policy file ${path}: rule ${name} must be a string`);
      overrides[name] = value;
    }
    return new Policy(overrides, options);
  }

  /** oslo.policy's `_handle_deprecated_rule`: the new check, or new OR old in the transition mode. */
  private defaultCheck(rule: RuleDefault, overrides: Record<string, string>): string {
    if (
      this.options.enforceNewDefaults ||
      !rule.deprecated ||
      rule.deprecated === rule.check ||
      rule.name in overrides
    ) {
      return rule.check;
    }
    return `(${rule.check}) or (${rule.deprecated})`;
  }

  has(rule: string): boolean {
    return this.rules.has(rule);
  }

  /**
   * Whether `credentials` pass `rule`; an unknown rule never passes. The
   * target is the caller's own project and user unless given, as upstream's.
   */
  allows(rule: string, credentials: Credentials, target: Target = ownTarget(credentials)): boolean {
    const scopeTypes = this.scopes.get(rule);
    if (scopeTypes) {
      const scope = tokenScopeOf(credentials);
      if (!scopeTypes.includes(scope)) {
        if (this.options.enforceScope) return false;
        this.options.onScopeMismatch?.(rule, scope, scopeTypes);
      }
    }
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
    const actual: Record<string, string | null | undefined> = {
      is_admin: isAdmin(credentials.roles) ? 'True' : 'False',
      project_id: credentials.projectId,
      user_id: credentials.userId,
      domain_id: credentials.domainId,
      system_scope: credentials.systemScope,
    };
    const own = actual[key];
    return own !== null && own !== undefined && own.toLowerCase() === substituted.toLowerCase();
  }
}

/** Upstream's target (`cyborg@9b059f4`): the caller's own project and user. */
export function ownTarget(credentials: Credentials): Target {
  return { project_id: credentials.projectId ?? null, user_id: credentials.userId ?? null };
}

function parse(name: string, text: string): Check {
  try {
    return parseCheck(text);
  } catch (error) {
    if (error instanceof InvalidCheckError) throw new PolicyFileError(`policy rule ${name}: ${error.message}`);
    throw error;
  }
}
