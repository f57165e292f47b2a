import { v3 as uuidV3, v5 as uuidV5 } from 'uuid';
import type { AttachHandleTypeV1, ControlPathIdV1 } from '@cyborg/contracts';

/**
 * The namespace of every inventory uuid. Ids are derived from identity keys
 * (never random), so deciding a report stays a pure function and a device
 * that comes back gets its old uuid. Never change this value.
 */
export const INVENTORY_NAMESPACE = '29905a9d-c77b-4fe5-be30-3c45cb8b6821';

const derive = (...parts: string[]) => uuidV5(JSON.stringify(parts), INVENTORY_NAMESPACE);

/** A device's identity on its host: `PCI:0000:5e:00.0`. */
export function controlPathKey(cpid: ControlPathIdV1): string {
  const a = cpid.info;
  return `${cpid.type}:${a.domain}:${a.bus}:${a.device}.${a.function}`;
}

export function deviceUuid(hostname: string, controlPath: string): string {
  return derive('device', hostname, controlPath);
}

export function deployableUuid(hostname: string, deployableName: string): string {
  return derive('deployable', hostname, deployableName);
}

export function attachHandleUuid(
  hostname: string,
  deployableName: string,
  type: AttachHandleTypeV1,
  info: string,
): string {
  return derive('attach_handle', hostname, deployableName, type, info);
}

/** Only agent-reported attributes are keyed by name; the API's get random uuids. */
export function agentAttributeUuid(hostname: string, deployableName: string, key: string): string {
  return derive('attribute', hostname, deployableName, key);
}

/** Upstream's `uuid3(NAMESPACE_DNS, name)`: the resource provider of a deployable, stable across rebuilds. */
export function resourceProviderUuid(deployableName: string): string {
  return uuidV3(deployableName, uuidV3.DNS);
}
