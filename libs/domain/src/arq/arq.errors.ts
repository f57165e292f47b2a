import { DomainError } from '../domain-error';

/**
 * Every way an ARQ command is refused. Messages are Cyborg's faultstrings
 * where Cyborg has one; where Cyborg fails with a 500 the status here is a
 * 4xx with the same words.
 */
export const ArqErrors = {
  notFound: (uuid: string) => new DomainError('not_found', 'arq_not_found', `ExtArq not found with uuid=${uuid}`),
  badState: (state: string, uuid: string, expected: readonly string[]) =>
    new DomainError(
      'conflict',
      'arq_bad_state',
      `Bad state: ${state} for ARQ: ${uuid}. Expected state(s): [${expected.map((s) => `'${s}'`).join(', ')}]`,
    ),
  boundToInstance: (uuid: string, instance: string) =>
    new DomainError(
      'forbidden',
      'service_token_required',
      `ARQ ${uuid} is bound to instance ${instance}. Use the Compute API to manage instance accelerators.`,
    ),
  serviceTokenRequired: () =>
    new DomainError(
      'forbidden',
      'service_token_required',
      'This operation requires a service token. Use the Compute API to manage instance accelerators.',
    ),
  repeatedInPatch: () =>
    new DomainError('invalid', 'arq_repeated', "Couldn't apply patch. Reason: an ARQ appears more than once"),
  instanceHasArqs: (instance: string) =>
    new DomainError(
      'invalid',
      'instance_has_arqs',
      `Couldn't apply patch. Reason: Instance ${instance} already has accelerator requests. Cannot bind additional ARQs.`,
    ),
  tooMany: (name: string, count: number, max: number) =>
    new DomainError(
      'invalid',
      'too_many_arqs',
      `Device profile ${name} asks for ${count} accelerator requests; at most ${max} are made at once.`,
    ),
} as const;
