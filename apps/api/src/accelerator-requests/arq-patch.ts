import { BadRequestException, ForbiddenException, NotFoundException } from '@nestjs/common';
import { type ArqBindingDto, type CallerDto, isAdmin, MAX_ARQS_PER_COMMAND } from '@cyborg/contracts';
import { canonicalUuid } from '@cyborg/domain';
import { type Microversion, requireMicroversion } from '../http/microversion';

export type ArqPatch = { kind: 'bind'; bindings: ArqBindingDto[] } | { kind: 'unbind'; uuids: string[] };

const BIND_FIELDS = ['hostname', 'device_rp_uuid', 'instance_uuid'] as const;
type BindField = (typeof BIND_FIELDS)[number];

const patchError = (reason: string) => new BadRequestException(`Couldn't apply patch. Reason: ${reason}`);

/**
 * Reads Cyborg's bind/unbind body (§5.5): an object keyed by ARQ uuid, each
 * value a JSON-patch list of only `add` (bind) or only `remove` (unbind) ops.
 * Every ARQ is checked before anything is sent. Where Cyborg answers a 500
 * (an empty op list) this is a 400.
 */
export function parseArqPatch(body: unknown, version: Microversion, caller: CallerDto): ArqPatch {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw patchError('The body must be an object of ARQ uuids to lists of patch operations');
  }
  const entries = Object.entries(body as Record<string, unknown>);
  if (entries.length === 0) throw patchError('No ARQ to patch');
  if (entries.length > MAX_ARQS_PER_COMMAND) throw patchError(`At most ${MAX_ARQS_PER_COMMAND} ARQs per request`);

  let kind: 'add' | 'remove' | null = null;
  const bindings: ArqBindingDto[] = [];
  const uuids: string[] = [];
  for (const [key, ops] of entries) {
    if (!Array.isArray(ops)) throw patchError(`The operations of ARQ ${key} must be a list`);
    if (ops.length === 0) throw patchError(`No operations for ARQ ${key}`);
    const values: Partial<Record<BindField | 'project_id', string>> = {};
    let arqKind: 'add' | 'remove' | null = null;
    for (const op of ops) {
      if (typeof op !== 'object' || op === null) throw patchError('Every op must be add or remove');
      const { op: name, path, value } = op as { op?: unknown; path?: unknown; value?: unknown };
      if ((name !== 'add' && name !== 'remove') || (arqKind !== null && name !== arqKind)) {
        throw patchError('Every op must be add or remove');
      }
      arqKind = name;
      if (path === '/project_id') {
        requireMicroversion(version, 1);
        if (!isAdmin(caller.roles))
          throw new ForbiddenException('Access was denied to the following resource: cyborg:arq:update');
      } else if (typeof path !== 'string' || !BIND_FIELDS.some((f) => `/${f}` === path)) {
        throw patchError(`Invalid path in patch ${String(path)}`);
      }
      if (name === 'add') {
        if (typeof value !== 'string' || value.trim() === '' || value.length > 255) {
          throw patchError(`The value of ${path} must be a non-empty string`);
        }
        values[(path as string).slice(1) as BindField | 'project_id'] = value.trim();
      }
    }
    // Cyborg decides by the first op of the first ARQ; one request does one thing to all.
    if (kind !== null && arqKind !== kind) throw patchError('Every op must be add or remove');
    kind = arqKind;
    const uuid = canonicalUuid(key);
    if (kind === 'remove') {
      if (!uuid) throw new NotFoundException(`ExtArq not found with uuid=${key}`);
      uuids.push(uuid);
      continue;
    }
    const absent = BIND_FIELDS.filter((f) => values[f] === undefined);
    if (absent.length > 0) throw patchError(`Fields absent in patch ${absent.join(',')}`);
    const rp = canonicalUuid(values.device_rp_uuid!);
    const instance = canonicalUuid(values.instance_uuid!);
    if (!rp) throw patchError(`Expected a uuid but received ${values.device_rp_uuid}.`);
    if (!instance) throw patchError(`Expected a uuid but received ${values.instance_uuid}.`);
    if (!uuid) throw new NotFoundException(`ExtArq not found with uuid=${key}`);
    bindings.push({
      uuid,
      hostname: values.hostname!,
      deviceRpUuid: rp,
      instanceUuid: instance,
      ...(values.project_id !== undefined ? { projectId: values.project_id } : {}),
    });
  }
  return kind === 'add' ? { kind: 'bind', bindings } : { kind: 'unbind', uuids };
}
