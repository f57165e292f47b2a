import { RpcFailure } from './rpc-error';

/** Queue group of the conductors, so each command is handled by one of them. */
export const CONDUCTOR_QUEUE = 'conductor';

// Tokens separated by dots; no empty token, whitespace or wildcard, which
// would fan a request out to unintended subscribers.
const SUBJECT = /^[^\s.*>]+(?:\.[^\s.*>]+)*$/u;

export function isValidSubject(subject: string): boolean {
  return SUBJECT.test(subject);
}

export function assertValidSubject(subject: string): void {
  if (!isValidSubject(subject)) {
    throw RpcFailure.invalid(`invalid subject "${subject}"`, { code: 'invalid_subject' });
  }
}

function subject(...tokens: string[]): string {
  const result = tokens.join('.');
  assertValidSubject(result);
  return result;
}

/** `cyborg.conductor.<command>` */
export function conductorSubject(command: string): string {
  return subject('cyborg', 'conductor', command);
}

/** `cyborg.agent.<host>.<work>`; a dotted host (FQDN) just adds tokens. */
export function agentSubject(host: string, work: string): string {
  return subject('cyborg', 'agent', host, work);
}
