import { BadRequestException, Controller, Get, NotFoundException, Param, Query, Req } from '@nestjs/common';
import type { Request } from 'express';
import { InventoryReadModel } from '@cyborg/projections';
import { Versioned } from '../http/microversion';
import { uuidPathParam } from '../http/path-uuid';
import { strictQuery } from '../http/query';
import { type AttributeBody, attributeBody } from './attribute.view';
import { Authorize } from '../http/policy.guard';

/** Cyborg §9, reading: agent-reported and operator-made attributes alike. */
@Controller(['v2/attributes', 'attributes'])
@Versioned()
export class AttributesController {
  constructor(private readonly inventory: InventoryReadModel) {}

  @Authorize('cyborg:attribute:get_all')
  @Get()
  async list(
    @Req() request: Request,
    @Query() query: Record<string, unknown>,
  ): Promise<{ attributes: AttributeBody[] }> {
    const { deployable_id, key } = strictQuery(query, ['deployable_id', 'key']);
    let deployableId: number | undefined;
    if (deployable_id !== undefined) {
      deployableId = Number(deployable_id);
      if (!/^\d+$/.test(deployable_id.trim()) || !Number.isSafeInteger(deployableId)) {
        throw new BadRequestException(
          `Invalid input for field/attribute deployable_id. Value: '${deployable_id}'. unable to convert to int.`,
        );
      }
    }
    const attributes = await this.inventory.listAttributes({ deployableId, key });
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
}
