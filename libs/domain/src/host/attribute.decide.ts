import {
  AttributeAdded,
  type AttributeAddedV1,
  AttributeRemoved,
  type AttributeRemovedV1,
  INVENTORY_LIMITS,
} from '@cyborg/contracts';
import type { DomainError } from '../domain-error';
import type { HostEvent } from '@cyborg/contracts';
import type { HostState } from './host';
import { AttributeErrors } from './attribute.errors';

/** As long as an agent may report them, so both kinds fit the same read model and Placement. */
export const MAX_ATTRIBUTE_KEY_LENGTH = 255;
export const MAX_ATTRIBUTE_VALUE_LENGTH = 1024;
/** Operator-made attributes one deployable may hold; the host stream must not grow without bound. */
export const MAX_API_ATTRIBUTES_PER_DEPLOYABLE = INVENTORY_LIMITS.attributesPerDeployable;

export interface AttributeInput {
  key: string;
  value: string;
}

/** Cyborg §9 create: an operator's key/value on a deployable of the host. */
export interface CreateAttribute extends AttributeInput {
  hostname: string;
  /** Chosen by the caller once (random), so a retried decision keeps it. */
  uuid: string;
  deployableUuid: string;
}

export interface DeleteAttribute {
  hostname: string;
  uuid: string;
}

/** The key and value rules, in WSME's words; null when both are fine. For the API and the conductor alike. */
export function checkAttributeInput(input: AttributeInput): DomainError | null {
  const { key, value } = input;
  const bad = (field: string, v: string, why: string) =>
    AttributeErrors.invalid(`Invalid input for field/attribute ${field}. Value: '${v}'. ${why}`);
  if (key.length === 0 || key.trim() !== key) {
    return bad('key', key, 'It must not be empty nor start or end with white space.');
  }
  if (key.length > MAX_ATTRIBUTE_KEY_LENGTH) {
    return bad('key', key, `It must be at most ${MAX_ATTRIBUTE_KEY_LENGTH} characters long.`);
  }
  if (value.length > MAX_ATTRIBUTE_VALUE_LENGTH) {
    return bad('value', value, `It must be at most ${MAX_ATTRIBUTE_VALUE_LENGTH} characters long.`);
  }
  return null;
}

/**
 * Adds an operator's attribute (source `api`) to a deployable on the host
 * stream, where reports keep it: only its deployable going, or its key then
 * being reported by the agent, removes it. One key per deployable.
 */
export function decideCreateAttribute(command: CreateAttribute, state: HostState): HostEvent[] | DomainError {
  const problem = checkAttributeInput(command);
  if (problem) return problem;
  const deployable = state.inventory.deployables.get(command.deployableUuid);
  if (!deployable) return AttributeErrors.deployableNotFound(command.deployableUuid);
  if (deployable.draining) return AttributeErrors.deployableDraining(deployable.uuid);
  const own = [...state.inventory.attributes.values()].filter((a) => a.deployableUuid === deployable.uuid);
  if (own.some((a) => a.key === command.key)) return AttributeErrors.keyTaken(command.key, deployable.uuid);
  if (own.filter((a) => a.source === 'api').length >= MAX_API_ATTRIBUTES_PER_DEPLOYABLE) {
    return AttributeErrors.tooMany(deployable.uuid, MAX_API_ATTRIBUTES_PER_DEPLOYABLE);
  }
  const added: AttributeAddedV1 = {
    hostname: command.hostname,
    uuid: command.uuid,
    deployableUuid: deployable.uuid,
    key: command.key,
    value: command.value,
    source: 'api',
  };
  return [{ type: AttributeAdded.type, data: { ...added } }];
}

/** Removes an operator's attribute; the agent's are refused, for the reasons below. */
export function decideDeleteAttribute(command: DeleteAttribute, state: HostState): HostEvent[] | DomainError {
  const attribute = state.inventory.attributes.get(command.uuid);
  if (!attribute) return AttributeErrors.notFound(command.uuid);
  if (attribute.source === 'agent') {
    // An agent's attribute is part of the host's reported snapshot: the agent
    // owns it. Deleting it here would not stick (the next changed report
    // derives it again, while unchanged reports are skipped by hash, so it
    // would come back at some unrelated later moment), and meanwhile its
    // deployable would lose its resource class (`rc`) or traits in Placement.
    // The way to change it is on the host (driver, configuration).
    return AttributeErrors.reportedByAgent(attribute.uuid, attribute.key, command.hostname);
  }
  const removed: AttributeRemovedV1 = {
    hostname: command.hostname,
    uuid: attribute.uuid,
    deployableUuid: attribute.deployableUuid,
    key: attribute.key,
  };
  return [{ type: AttributeRemoved.type, data: { ...removed } }];
}
