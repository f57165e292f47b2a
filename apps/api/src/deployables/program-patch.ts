import { BadRequestException } from '@nestjs/common';
import { canonicalUuid } from '@cyborg/domain';

const PATH = /^(\/[\w-]+)+$/;
const OPS = ['add', 'replace', 'remove'];

/**
 * Cyborg's program body (§8.4): a JSON-patch list whose first op carries
 * `value: [{"image_uuid": ...}]`. Where upstream crashes on a malformed body
 * (500) this answers 400 saying what is wrong.
 */
export function imageUuidOfProgramPatch(body: unknown): string {
  if (!Array.isArray(body) || body.length === 0) {
    throw new BadRequestException(
      'The body must be a list of patch operations, e.g. [{"op": "replace", "path": "/program", "value": [{"image_uuid": "<uuid>"}]}]',
    );
  }
  for (const op of body) {
    if (typeof op !== 'object' || op === null || Array.isArray(op)) {
      throw new BadRequestException('Every patch operation must be an object with op, path and value');
    }
    const { op: name, path } = op as { op?: unknown; path?: unknown };
    if (typeof name !== 'string' || !OPS.includes(name)) {
      throw new BadRequestException(
        `Invalid input for field/attribute op. Value: '${String(name)}'. Value should be one of: ${OPS.join(', ')}`,
      );
    }
    if (typeof path !== 'string' || !PATH.test(path)) {
      throw new BadRequestException(
        `Invalid input for field/attribute path. Value: '${String(path)}'. Value should match ^(/[\\w-]+)+$`,
      );
    }
  }
  const value = (body[0] as { value?: unknown }).value;
  const first: unknown = Array.isArray(value) ? value[0] : undefined;
  const image =
    typeof first === 'object' && first !== null ? (first as { image_uuid?: unknown }).image_uuid : undefined;
  if (image === undefined) {
    throw new BadRequestException(
      'The first patch operation must have value [{"image_uuid": "<uuid of the bitstream image>"}]',
    );
  }
  const uuid = typeof image === 'string' ? canonicalUuid(image) : null;
  if (!uuid) throw new BadRequestException(`Expected a uuid but received ${String(image)}.`);
  return uuid;
}
