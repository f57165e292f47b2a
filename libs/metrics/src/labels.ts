/** Label values with a bounded set of values, so series stay few. */

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

/** A Placement call's kind: its method and path template (`PUT /resource_providers/{uuid}/inventories`). */
export function placementKind(method: string, path: string): string {
  const template = path
    .split('?')[0]
    .replace(UUID, '{uuid}')
    .replace(/^\/(traits|resource_classes)\/[^/]+$/, '/$1/{name}');
  return `${method} ${template}`;
}

/** The command a conductor subject carries: `cyborg.conductor.<command>[.<host>]`. */
export function commandOfSubject(subject: string): string {
  const parts = subject.split('.');
  return parts[0] === 'cyborg' && parts[1] === 'conductor' && parts[2] ? parts[2] : subject;
}

/**
 * Why a bind failed, as a short code: the deadline passed, the agent could
 * not do it or refused it, or the domain's refusal code for a bind that
 * could not start.
 */
export function bindFailureReason(reason: string, code?: string): string {
  if (code) return code;
  if (/deadline/i.test(reason)) return 'deadline';
  if (/could not prepare/i.test(reason)) return 'agent_failed';
  if (/refused/i.test(reason)) return 'agent_refused';
  return 'other';
}
