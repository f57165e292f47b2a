import { BadRequestException, Controller, Get, NotFoundException, Param, Query, Req } from '@nestjs/common';
import type { Request } from 'express';
import { type DeployableFilter, InventoryReadModel } from '@cyborg/projections';
import { Versioned } from '../http/microversion';
import { uuidPathParam } from '../http/path-uuid';
import { PAGING_PARAMS, pagingOf, readPage } from '../http/paging';
import { strictQuery } from '../http/query';
import { type DeployableBody, deployableBody } from './deployable.view';
import { Authorize } from '../http/policy.guard';

/** Upstream's `FilterType.field` values; only `name` and `limit` have an effect on deployables. */
const FILTER_FIELDS = [
  'parent_uuid',
  'root_uuid',
  'board',
  'availability',
  'interface_type',
  'instance_uuid',
  'limit',
  'marker',
  'sort_key',
  'sort_dir',
  'name',
];

/** Cyborg §8: deployables (one resource provider each), with their device → PF → VF tree. */
@Controller(['v2/deployables', 'deployables'])
@Versioned()
export class DeployablesController {
  constructor(private readonly inventory: InventoryReadModel) {}

  /** The legacy `?filters.field=<f>&filters.value=<v>` pairs, as upstream, and paging (`limit`, `marker`). */
  @Authorize('cyborg:deployable:get_all')
  @Get()
  async list(
    @Req() request: Request,
    @Query() query: Record<string, unknown>,
  ): Promise<{ deployables: DeployableBody[] }> {
    const { limit, marker } = strictQuery(query, ['filters.field', 'filters.value', ...PAGING_PARAMS]);
    const filter = legacyFilters(query);
    const deployables = await readPage(pagingOf({ limit, marker }), (page) =>
      this.inventory.listDeployables(filter, page),
    );
    return { deployables: deployables.map((deployable) => deployableBody(request, deployable)) };
  }

  @Authorize('cyborg:deployable:get_one')
  @Get(':uuid')
  async get(
    @Req() request: Request,
    @Param('uuid') value: string,
    @Query() query: Record<string, unknown>,
  ): Promise<DeployableBody> {
    strictQuery(query, []);
    const deployable = await this.inventory.deployableByUuid(uuidPathParam(value));
    if (!deployable) throw new NotFoundException(`Deployable not found with uuid=${value}`);
    return deployableBody(request, deployable);
  }
}

function legacyFilters(query: Record<string, unknown>): DeployableFilter {
  const list = (v: unknown): string[] => (v === undefined ? [] : Array.isArray(v) ? v.map(String) : [String(v)]);
  const fields = list(query['filters.field']);
  const values = list(query['filters.value']);
  const filter: DeployableFilter = {};
  fields.forEach((field, i) => {
    if (!FILTER_FIELDS.includes(field)) {
      throw new BadRequestException(
        `Invalid input for field/attribute field. Value: '${field}'. Value should be one of: ${FILTER_FIELDS.join(', ')}`,
      );
    }
    const value = values[i];
    if (value === undefined) return;
    if (field === 'name') filter.name = value;
    if (field === 'limit') {
      const limit = Number(value);
      if (!Number.isInteger(limit) || limit < 0) {
        throw new BadRequestException(`Invalid input for field/attribute limit. Value: '${value}'.`);
      }
      filter.limit = limit;
    }
  });
  return filter;
}
