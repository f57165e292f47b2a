import { DomainError } from '../domain-error';

/**
 * Every way an attribute command (Cyborg §9) is refused. Cyborg has its own
 * words only for a missing attribute; where it fails with a 500 (unknown
 * deployable, bad input) or has no rule at all (duplicate keys) the words
 * here are ours.
 */
export const AttributeErrors = {
  invalid: (message: string) => new DomainError('invalid', 'invalid_attribute', message),
  notFound: (uuid: string) =>
    new DomainError('not_found', 'attribute_not_found', `Attribute not found with uuid=${uuid}`),
  deployableNotFound: (uuid: string) =>
    new DomainError('not_found', 'deployable_not_found', `Deployable not found with uuid=${uuid}`),
  deployableDraining: (uuid: string) =>
    new DomainError(
      'conflict',
      'deployable_draining',
      `Deployable ${uuid} is gone from its host and is only kept while an accelerator on it is in use; it takes no new attributes.`,
    ),
  keyTaken: (key: string, deployableUuid: string) =>
    new DomainError(
      'conflict',
      'attribute_key_taken',
      `An attribute with key ${key} already exists on deployable ${deployableUuid}.`,
    ),
  tooMany: (deployableUuid: string, max: number) =>
    new DomainError(
      'conflict',
      'too_many_attributes',
      `Deployable ${deployableUuid} already has ${max} attributes created through the API; delete one first.`,
    ),
  reportedByAgent: (uuid: string, key: string, hostname: string) =>
    new DomainError(
      'conflict',
      'attribute_reported_by_agent',
      `Attribute ${uuid} (${key}) is reported by the agent of host ${hostname} and cannot be deleted through the API; ` +
        'only attributes created through the API can.',
    ),
} as const;
