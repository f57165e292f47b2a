import {
  BadRequestException,
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  NotFoundException,
  Param,
  Post,
  Query,
  Req,
  UnsupportedMediaTypeException,
} from '@nestjs/common';
import type { Request } from 'express';
import { ConductorCommands, type CreateAttributeResult, type DeleteAttributeResult } from '@cyborg/contracts';
import { canonicalUuid, checkAttributeInput } from '@cyborg/domain';
import { type DeployableView, InventoryReadModel } from '@cyborg/projections';
import { CommandSender } from '../http/command-sender';
import { Versioned } from '../http/microversion';
import { PAGING_PARAMS, pagingOf, readPage } from '../http/paging';
import { uuidPathParam } from '../http/path-uuid';
import { strictQuery } from '../http/query';
import { type AttributeBody, attributeBody } from './attribute.view';
import { Authorize } from '../http/policy.guard';

const JSON_TYPES = ['application/json', 'application/*+json'];

/**
 * Cyborg §9: agent-reported and operator-made attributes alike are read;
 * operators create and delete their own. Writes go to the conductor, on the
 * deployable's host stream, where agent reports keep operators' attributes.
 */
@Controller(['v2/attributes', 'attributes'])
@Versioned()
export class AttributesController {
  constructor(
    private readonly inventory: InventoryReadModel,
    private readonly commands: CommandSender,
  ) {}

  @Authorize('cyborg:attribute:get_all')
  @Get()
  async list(
    @Req() request: Request,
    @Query() query: Record<string, unknown>,
  ): Promise<{ attributes: AttributeBody[] }> {
    const { deployable_id, key, ...paging } = strictQuery(query, ['deployable_id', 'key', ...PAGING_PARAMS]);
    let deployableId: number | undefined;
    if (deployable_id !== undefined) {
      const id = integerId(deployable_id);
      if (id === null) throw badInteger('deployable_id', deployable_id);
      deployableId = id;
    }
    const attributes = await readPage(pagingOf(paging), (page) =>
      this.inventory.listAttributes({ deployableId, key }, page),
    );
    return { attributes: attributes.map((attribute) => attributeBody(request, attribute)) };
  }

  @Authorize('cyborg:attribute:get_one')
  @Get(':uuid')
  async get(
    @Req() request: Request,
    @Param('uuid') value: string,
    @Query() query: Record<string, unknown>,
  ): Promise<AttributeBody> {
    strictQuery(query, []);
    const attribute = await this.inventory.attributeByUuid(uuidPathParam(value));
    if (!attribute) throw new NotFoundException(`Attribute not found with uuid=${value}`);
    return attributeBody(request, attribute);
  }

  /**
   * `{"deployable_id": 1, "key": "k", "value": "v"}` as Cyborg takes it, or
   * wrapped as openstacksdk sends it, `{"attribute": {...}}`. `deployable_id`
   * is the deployable's integer id (a numeric string too) or its uuid (the
   * SDK's own test passes one). 201 with the attribute, flat.
   */
  @Authorize('cyborg:attribute:create')
  @Post()
  async create(
    @Req() request: Request,
    @Body() body: unknown,
    @Query() query: Record<string, unknown>,
  ): Promise<AttributeBody> {
    strictQuery(query, []);
    if (request.is(JSON_TYPES) === false) {
      const type = (request.get('Content-Type') ?? '').split(';')[0].trim();
      throw new UnsupportedMediaTypeException(`Unknown mimetype: ${type}`);
    }
    const input = attributeInput(body);
    const problem = checkAttributeInput(input);
    if (problem) throw new BadRequestException(problem.message);
    const deployable = await this.deployableOf(input.deployableId);
    const created = await this.commands.send<CreateAttributeResult>(request, ConductorCommands.createAttribute, {
      hostname: deployable.hostname,
      deployableUuid: deployable.uuid,
      key: input.key,
      value: input.value,
    });
    // Read back once the read model has it, for Cyborg's integer id and the recorded time.
    const recorded = await this.inventory.attributeByUuid(created.uuid);
    return attributeBody(
      request,
      recorded ?? {
        id: 0,
        uuid: created.uuid,
        deployableId: deployable.id,
        deployableUuid: deployable.uuid,
        hostname: deployable.hostname,
        key: created.key,
        value: created.value,
        source: 'api',
        createdAt: new Date(),
        updatedAt: null,
      },
    );
  }

  /**
   * Only attributes made through the API; the agents' are refused with a
   * 409 (the conductor says why). The path is not checked for uuid-ness, as
   * upstream: anything unknown is a 404.
   */
  @Authorize('cyborg:attribute:delete')
  @Delete(':uuid')
  @HttpCode(204)
  async delete(
    @Req() request: Request,
    @Param('uuid') value: string,
    @Query() query: Record<string, unknown>,
  ): Promise<void> {
    strictQuery(query, []);
    const uuid = canonicalUuid(value);
    const attribute = uuid ? await this.inventory.attributeByUuid(uuid) : null;
    if (!attribute) throw new NotFoundException(`Attribute not found with uuid=${value}`);
    await this.commands.send<DeleteAttributeResult>(request, ConductorCommands.deleteAttribute, {
      hostname: attribute.hostname,
      attributeUuid: attribute.uuid,
    });
  }

  private async deployableOf(id: number | string): Promise<DeployableView> {
    const deployable =
      typeof id === 'number' ? await this.inventory.deployableById(id) : await this.inventory.deployableByUuid(id);
    if (!deployable) {
      throw new NotFoundException(
        typeof id === 'number' ? `Deployable not found with id=${id}` : `Deployable not found with uuid=${id}`,
      );
    }
    return deployable;
  }
}

interface AttributeRequest {
  /** An integer id, or a canonical uuid. */
  deployableId: number | string;
  key: string;
  value: string;
}

/** The body's fields, typed; Cyborg fails with a 500 on most of these, so the words are WSME's style. */
function attributeInput(body: unknown): AttributeRequest {
  if (!isObject(body)) throw new BadRequestException('The request body must be a JSON object.');
  // openstacksdk's envelope; a flat body never has an `attribute` field of its own.
  const fields = 'attribute' in body && isObject(body.attribute) ? body.attribute : body;
  const { deployable_id: deployable, key, value } = fields;
  if (deployable === undefined || deployable === null) throw missing('deployable_id');
  if (key === undefined || key === null) throw missing('key');
  if (value === undefined || value === null) throw missing('value');
  return { deployableId: deployableIdOf(deployable), key: text('key', key), value: text('value', value) };
}

function deployableIdOf(value: unknown): number | string {
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value) && value >= 0) return value;
    throw badInteger('deployable_id', String(value));
  }
  if (typeof value === 'string') {
    const id = integerId(value);
    if (id !== null) return id;
    const uuid = canonicalUuid(value.trim());
    if (uuid) return uuid;
  }
  throw badInteger('deployable_id', typeof value === 'string' ? value : JSON.stringify(value));
}

/** Strings as given; numbers as their text, as Cyborg's string fields coerce them. */
function text(field: string, value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  throw new BadRequestException(
    `Invalid input for field/attribute ${field}. Value: '${JSON.stringify(value)}'. Value should be a string.`,
  );
}

/** A non-negative integer written in decimal digits; null for anything else. */
function integerId(value: string): number | null {
  const text = value.trim();
  const id = Number(text);
  return /^\d+$/.test(text) && Number.isSafeInteger(id) ? id : null;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const missing = (field: string) => new BadRequestException(`Missing argument: "${field}"`);

const badInteger = (field: string, value: string) =>
  new BadRequestException(`Invalid input for field/attribute ${field}. Value: '${value}'. unable to convert to int.`);
