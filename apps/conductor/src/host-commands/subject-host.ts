import type { Logger } from '@nestjs/common';
import type { NatsContext } from '@nestjs/microservices';
import { hostToken } from '@cyborg/contracts';
import { RpcFailure } from '@cyborg/messaging';

/**
 * An agent speaks for the host its subject names (`cyborg.conductor.<command>.<host>`),
 * which NATS permissions pin to the agent's own credentials. A payload about
 * another host is a lying or misconfigured agent: refused, logged, no effect.
 */
export function requireSubjectHost(context: NatsContext, hostname: string, logger: Logger): void {
  const subject = context.getSubject();
  const subjectHost = subject.slice(subject.lastIndexOf('.') + 1);
  if (subjectHost === hostToken(hostname)) return;
  logger.warn({ msg: 'refused a message about another host than its subject', subject, hostname });
  throw RpcFailure.forbidden(`A message on ${subject} may only concern host ${subjectHost}, not ${hostname}.`, {
    code: 'host_mismatch',
  });
}
