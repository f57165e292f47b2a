import {
  QuotaUsageCharged,
  type QuotaUsageChargedV1,
  QuotaUsageReleased,
  type QuotaUsageReleasedV1,
} from '@cyborg/contracts';
import { DomainError } from '../domain-error';
import type { DomainEvent } from '../domain-event';

/** The Keystone unified-limits resource an ARQ of this resource class counts as one of: `class:FPGA`. */
export function quotaResourceOf(resourceClass: string): string {
  return `class:${resourceClass}`;
}

/** Stream `quota-<project>`, folded: which ARQs count, and how many per resource. */
export interface QuotaState {
  /** ARQ uuid -> the resource it counts as one of. */
  charges: Record<string, string>;
  /** Resource -> ARQs counted. */
  inUse: Record<string, number>;
}

export const initialQuotaState: QuotaState = { charges: {}, inUse: {} };

export function evolveQuota(state: QuotaState, event: DomainEvent): QuotaState {
  switch (event.type) {
    case QuotaUsageCharged.type: {
      const d = event.data;
      const charges = { ...state.charges };
      const inUse = { ...state.inUse };
      for (const c of d.charges) {
        if (charges[c.arqUuid] !== undefined) continue;
        charges[c.arqUuid] = c.resourceName;
        inUse[c.resourceName] = (inUse[c.resourceName] ?? 0) + 1;
      }
      return { charges, inUse };
    }
    case QuotaUsageReleased.type: {
      const d = event.data;
      const charges = { ...state.charges };
      const inUse = { ...state.inUse };
      for (const uuid of d.arqUuids) {
        const resource = charges[uuid];
        if (resource === undefined) continue;
        delete charges[uuid];
        inUse[resource] = Math.max(0, (inUse[resource] ?? 0) - 1);
        if (inUse[resource] === 0) delete inUse[resource];
      }
      return { charges, inUse };
    }
    default:
      return state;
  }
}

/** Limits by resource name; a resource without an entry is unlimited (no limit registered). */
export type QuotaLimits = ReadonlyMap<string, number>;

export interface ChargeQuota {
  projectId: string;
  /** The ARQs about to be created, with the resource class of the unit each stands for (null: counts as nothing). */
  arqs: readonly { uuid: string; resourceClass: string | null }[];
  limits: QuotaLimits;
}

export const QuotaErrors = {
  exceeded: (resource: string, requested: number, inUse: number, limit: number) =>
    new DomainError(
      'forbidden',
      'quota_exceeded',
      `Quota exceeded for ${resource}: requested ${requested}, in use ${inUse}, limit ${limit}`,
    ),
} as const;

/**
 * Counts new ARQs against the project's limits: all or nothing. The first
 * resource (in name order) that would go over its limit refuses the whole
 * command. Nothing to count gives no events.
 */
export function decideQuotaCharge(command: ChargeQuota, state: QuotaState): DomainEvent[] | DomainError {
  const charges = command.arqs
    .filter((a): a is { uuid: string; resourceClass: string } => a.resourceClass !== null)
    .filter((a) => state.charges[a.uuid] === undefined)
    .map((a) => ({ arqUuid: a.uuid, resourceName: quotaResourceOf(a.resourceClass) }));
  if (charges.length === 0) return [];
  const requested = new Map<string, number>();
  for (const c of charges) requested.set(c.resourceName, (requested.get(c.resourceName) ?? 0) + 1);
  for (const [resource, count] of [...requested].sort(([a], [b]) => a.localeCompare(b))) {
    const limit = command.limits.get(resource);
    const inUse = state.inUse[resource] ?? 0;
    if (limit !== undefined && limit >= 0 && inUse + count > limit) {
      return QuotaErrors.exceeded(resource, count, inUse, limit);
    }
  }
  const data: QuotaUsageChargedV1 = { projectId: command.projectId, charges };
  return [{ type: QuotaUsageCharged.type, data: { ...data } }];
}

/** Deleted ARQs stop counting; those never counted (created before quotas, or elsewhere) give nothing. */
export function decideQuotaRelease(projectId: string, arqUuids: readonly string[], state: QuotaState): DomainEvent[] {
  const counted = [...new Set(arqUuids)].filter((uuid) => state.charges[uuid] !== undefined);
  if (counted.length === 0) return [];
  const data: QuotaUsageReleasedV1 = { projectId, arqUuids: counted };
  return [{ type: QuotaUsageReleased.type, data: { ...data } }];
}

/** Usage beside the limit per resource, for reports: every resource in use or limited. */
export function quotaUsageOf(
  state: QuotaState,
  limits: QuotaLimits,
): { resource: string; inUse: number; limit: number | null }[] {
  const resources = new Set([...Object.keys(state.inUse), ...limits.keys()]);
  return [...resources].sort().map((resource) => {
    const limit = limits.get(resource);
    return { resource, inUse: state.inUse[resource] ?? 0, limit: limit === undefined || limit < 0 ? null : limit };
  });
}
