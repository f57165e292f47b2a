/**
 * oslo.policy check strings, so operators' policy files read as they do for
 * every other OpenStack service: `rule:x`, `role:x`, `is_admin:True`,
 * `project_id:%(project_id)s`, `system_scope:all`, `@` (always), `!` (never),
 * combined with `and`, `or`, `not` and parentheses.
 */
export type Check =
  | { kind: 'always' }
  | { kind: 'never' }
  | { kind: 'rule'; name: string }
  | { kind: 'role'; role: string }
  | { kind: 'match'; key: string; value: string }
  | { kind: 'not'; check: Check }
  | { kind: 'and'; checks: Check[] }
  | { kind: 'or'; checks: Check[] };

export class InvalidCheckError extends Error {}

export function parseCheck(text: string): Check {
  const tokens = tokenize(text);
  let at = 0;
  const peek = () => tokens[at];
  const next = () => tokens[at++];

  const parseOr = (): Check => {
    const checks = [parseAnd()];
    while (peek()?.toLowerCase() === 'or') {
      next();
      checks.push(parseAnd());
    }
    return checks.length === 1 ? checks[0] : { kind: 'or', checks };
  };
  const parseAnd = (): Check => {
    const checks = [parseNot()];
    while (peek()?.toLowerCase() === 'and') {
      next();
      checks.push(parseNot());
    }
    return checks.length === 1 ? checks[0] : { kind: 'and', checks };
  };
  const parseNot = (): Check => {
    if (peek()?.toLowerCase() === 'not') {
      next();
      return { kind: 'not', check: parseNot() };
    }
    return parseAtom();
  };
  const parseAtom = (): Check => {
    const token = next();
    if (token === undefined) throw new InvalidCheckError(`"${text}" ends where a check was expected`);
    if (token === '(') {
      const inner = parseOr();
      if (next() !== ')') throw new InvalidCheckError(`"${text}" has an unclosed parenthesis`);
      return inner;
    }
    if (token === '@') return { kind: 'always' };
    if (token === '!') return { kind: 'never' };
    const colon = token.indexOf(':');
    if (colon <= 0) throw new InvalidCheckError(`"${token}" in "${text}" is not a check of the form kind:value`);
    const key = token.slice(0, colon);
    const value = token.slice(colon + 1);
    if (key === 'rule') return { kind: 'rule', name: value };
    if (key === 'role') return { kind: 'role', role: value };
    return { kind: 'match', key, value };
  };

  if (tokens.length === 0) return { kind: 'always' }; // oslo.policy: an empty rule allows
  const check = parseOr();
  if (at < tokens.length) throw new InvalidCheckError(`"${text}" has unexpected "${tokens[at]}"`);
  return check;
}

/** Words split on spaces, with parentheses peeled off their ends (`%(name)s` keeps its own). */
function tokenize(text: string): string[] {
  const tokens: string[] = [];
  for (let word of text.split(/\s+/).filter(Boolean)) {
    while (word.startsWith('(')) {
      tokens.push('(');
      word = word.slice(1);
    }
    let closing = 0;
    while (word.endsWith(')') && !/%\(\w+\)$/.test(word)) {
      closing++;
      word = word.slice(0, -1);
    }
    if (word) tokens.push(word);
    for (let i = 0; i < closing; i++) tokens.push(')');
  }
  return tokens;
}
