import { Controller, Get, NotFoundException, Param, Query, Req } from '@nestjs/common';
import type { Request } from 'express';
import { canonicalUuid } from '@cyborg/domain';
import { InventoryReadModel } from '@cyborg/projections';
import { type Microversion, RequestedMicroversion, Versioned } from '../http/microversion';
import { strictQuery } from '../http/query';
import { type DeviceBody, deviceBody } from './device.view';

/** Cyborg §7: devices as the agents reported them; read-only here. */
@Controller(['v2/devices', 'devices'])
@Versioned()
export class DevicesController {
  constructor(private readonly inventory: InventoryReadModel) {}

  /** Exact-match filters, combined; nothing matching (an unknown type too) is an empty list. */
  @Get()
  async list(
    @Req() request: Request,
    @Query() query: Record<string, unknown>,
    @RequestedMicroversion() version: Microversion,
  ): Promise<{ devices: DeviceBody[] }> {
    const filter = strictQuery(query, ['type', 'vendor', 'hostname']);
    const devices = await this.inventory.listDevices(filter);
    return { devices: devices.map((device) => deviceBody(request, version, device)) };
  }

  /** The path is not checked for uuid-ness, as upstream: anything unknown is a 404. */
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
}
