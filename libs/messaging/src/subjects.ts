import { RpcFailure } from './rpc-error';

// Subjects themselves are named in @cyborg/contracts; this only guards their shape.
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
