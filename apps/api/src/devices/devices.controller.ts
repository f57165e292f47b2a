import { Controller, Get, HttpCode, NotFoundException, Param, Post, Query, Req } from '@nestjs/common';
import type { Request } from 'express';
import { ConductorCommands, type DeviceStatusV1, type SetDeviceStatusResult } from '@cyborg/contracts';
import { canonicalUuid } from '@cyborg/domain';
import { InventoryReadModel } from '@cyborg/projections';
import { CommandSender } from '../http/command-sender';
import { type Microversion, RequestedMicroversion, Versioned } from '../http/microversion';
import { PAGING_PARAMS, pagingOf, readPage } from '../http/paging';
import { strictQuery } from '../http/query';
import { type DeviceBody, deviceBody } from './device.view';
import { Authorize } from '../http/policy.guard';

/** Cyborg §7: devices as the agents reported them; operators may only disable and enable them. */
@Controller(['v2/devices', 'devices'])
@Versioned()
export class DevicesController {
  constructor(
    private readonly inventory: InventoryReadModel,
    private readonly commands: CommandSender,
  ) {}

  /** Exact-match filters, combined; nothing matching (an unknown type too) is an empty list. Pages by id. */
  @Authorize('cyborg:device:get_all')
  @Get()
  async list(
    @Req() request: Request,
    @Query() query: Record<string, unknown>,
    @RequestedMicroversion() version: Microversion,
  ): Promise<{ devices: DeviceBody[] }> {
    const { limit, marker, ...filter } = strictQuery(query, ['type', 'vendor', 'hostname', ...PAGING_PARAMS]);
    const devices = await readPage(pagingOf({ limit, marker }), (page) => this.inventory.listDevices(filter, page));
    return { devices: devices.map((device) => deviceBody(request, version, device)) };
  }

  /** The path is not checked for uuid-ness, as upstream: anything unknown is a 404. */
  @Authorize('cyborg:device:get_one')
  @Get(':uuid')
  async get(
    @Req() request: Request,
    @Param('uuid') value: string,
    @Query() query: Record<string, unknown>,
    @RequestedMicroversion() version: Microversion,
  ): Promise<DeviceBody> {
    strictQuery(query, []);
    const uuid = canonicalUuid(value);
    const device = uuid ? await this.inventory.deviceByUuid(uuid) : null;
    if (!device) throw new NotFoundException(`Device not found with uuid=${value}`);
    return deviceBody(request, version, device);
  }

  /** `maintaining`: binds to the device are refused until it is enabled again (§7.4). 200, empty. */
  @Authorize('cyborg:device:disable')
  @Post(':uuid/disable')
  @HttpCode(200)
  async disable(@Req() request: Request, @Param('uuid') value: string, @Query() query: Record<string, unknown>) {
    await this.setStatus(request, value, query, 'maintaining');
  }

  @Authorize('cyborg:device:enable')
  @Post(':uuid/enable')
  @HttpCode(200)
  async enable(@Req() request: Request, @Param('uuid') value: string, @Query() query: Record<string, unknown>) {
    await this.setStatus(request, value, query, 'enabled');
  }

  private async setStatus(
    request: Request,
    value: string,
    query: Record<string, unknown>,
    status: DeviceStatusV1,
  ): Promise<void> {
    strictQuery(query, []);
    const uuid = canonicalUuid(value);
    const device = uuid ? await this.inventory.deviceByUuid(uuid) : null;
    if (!device) throw new NotFoundException(`Device not found with uuid=${value}`);
    await this.commands.send<SetDeviceStatusResult>(request, ConductorCommands.setDeviceStatus, {
      hostname: device.hostname,
      deviceUuid: device.uuid,
      status,
    });
  }
}
