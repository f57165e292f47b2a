import {
  BadRequestException,
  Body,
  Controller,
  Get,
  NotFoundException,
  Param,
  Patch,
  Query,
  Req,
} from '@nestjs/common';
import { Settings } from '@cyborg/config';
import { ConductorCommands, type ProgramDeployableResult } from '@cyborg/contracts';
import type { Request } from 'express';
import { type DeployableFilter, InventoryReadModel } from '@cyborg/projections';
import { Versioned } from '../http/microversion';
import { uuidPathParam } from '../http/path-uuid';
import { PAGING_PARAMS, pagingOf, readPage } from '../http/paging';
import { strictQuery } from '../http/query';
import { type DeployableBody, deployableBody } from './deployable.view';
import { Authorize } from '../http/policy.guard';
import { CommandSender } from '../http/command-sender';
import { imageUuidOfProgramPatch } from './program-patch';

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
  constructor(
    private readonly inventory: InventoryReadModel,
    private readonly commands: CommandSender,
    private readonly settings: Settings,
  ) {}

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

  /**
   * Programs the deployable with a bitstream image (§8.4); also at
   * `.../program/{uuid}`, where openstacksdk >= 4.12 sends it. Answers once
   * programmed, with the deployable as it now is (upstream shows the old
   * `bitstream_id`); a failure is an error, never a 200.
   */
  @Authorize('cyborg:deployable:program')
  @Patch([':uuid/program', ':uuid/program/:again'])
  async program(
    @Req() request: Request,
    @Param('uuid') value: string,
    @Param('again') again: string | undefined,
    @Query() query: Record<string, unknown>,
    @Body() body: unknown,
  ): Promise<DeployableBody> {
    strictQuery(query, []);
    const uuid = uuidPathParam(value);
    if (again !== undefined && uuidPathParam(again) !== uuid) {
      throw new BadRequestException(`The path names two deployables: ${value} and ${again}`);
    }
    const bitstreamId = imageUuidOfProgramPatch(body);
    const deployable = await this.inventory.deployableByUuid(uuid);
    if (!deployable) throw new NotFoundException(`Deployable not found with uuid=${value}`);
    await this.commands.send<ProgramDeployableResult>(
      request,
      ConductorCommands.programDeployable,
      { hostname: deployable.hostname, deployableUuid: deployable.uuid, bitstreamId },
      // The conductor answers by its own deadline; this only guards against losing it.
      { timeoutMs: this.settings.PROGRAM_TIMEOUT_MS + this.settings.RPC_TIMEOUT_MS },
    );
    const programmed = await this.inventory.deployableByUuid(uuid);
    return deployableBody(request, programmed ?? deployable);
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
