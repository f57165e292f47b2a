import { Body, Controller, Get, HttpCode, NotFoundException, Param, Post, Query, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import {
  ConductorCommands,
  type DeviceStatusV1,
  type ReleaseDeviceFenceResult,
  type ReshapeDeviceResult,
  type SetDeviceStatusResult,
} from '@cyborg/contracts';
import { canonicalUuid } from '@cyborg/domain';
import { InventoryReadModel } from '@cyborg/projections';
import { CommandSender } from '../http/command-sender';
import {
  HEALTH_MICROVERSION,
  type Microversion,
  RequestedMicroversion,
  requireMicroversion,
  Versioned,
} from '../http/microversion';
import { PAGING_PARAMS, pagingOf, readPage } from '../http/paging';
import { strictQuery } from '../http/query';
import { type DeviceBody, deviceBody } from './device.view';
import { Authorize } from '../http/policy.guard';
import { parseReshapeRequest } from './reshape-request';

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

  /**
   * From 2.4: lifts the fence of a device that recovered while HEALTH_FENCE_STICKY
   * kept it fenced. 200, empty, as disable and enable; a device still unhealthy is a 409.
   */
  @Authorize('cyborg:device:release_fence')
  @Post(':uuid/health/release')
  @HttpCode(200)
  async releaseFence(
    @Req() request: Request,
    @Param('uuid') value: string,
    @Query() query: Record<string, unknown>,
    @RequestedMicroversion() version: Microversion,
  ): Promise<void> {
    requireMicroversion(version, HEALTH_MICROVERSION);
    strictQuery(query, []);
    const device = await this.deviceOf(value);
    await this.commands.send<ReleaseDeviceFenceResult>(request, ConductorCommands.releaseDeviceFence, {
      hostname: device.hostname,
      deviceUuid: device.uuid,
    });
  }

  /**
   * From 2.4: an admin changes how the device is carved up (one of
   * `vgpu_type`, `mig_profiles`, `num_vfs`). Applied at once while nothing
   * on it is bound (200); otherwise refused (409), or with
   * `"when_busy": "wait"` applied once its ARQs let go (202). Binds to the
   * device wait until it is done; the device's history shows every step.
   */
  @Authorize('cyborg:device:reshape')
  @Post(':uuid/reshape')
  async reshape(
    @Req() request: Request,
    @Res({ passthrough: true }) response: Response,
    @Param('uuid') value: string,
    @Body() body: unknown,
    @Query() query: Record<string, unknown>,
    @RequestedMicroversion() version: Microversion,
  ) {
    requireMicroversion(version, HEALTH_MICROVERSION);
    strictQuery(query, []);
    const { spec, whenBusy } = parseReshapeRequest(body);
    const device = await this.deviceOf(value);
    const result = await this.commands.send<ReshapeDeviceResult>(request, ConductorCommands.reshapeDevice, {
      hostname: device.hostname,
      deviceUuid: device.uuid,
      spec,
      whenBusy,
    });
    response.status(result.state === 'waiting' ? 202 : 200);
    return {
      reshape_id: result.reshapeId,
      device_uuid: device.uuid,
      state: result.state,
      vgpu_type: spec.vgpuType ?? null,
      mig_profiles: spec.migProfiles ?? null,
      num_vfs: spec.numVfs ?? null,
      when_busy: whenBusy,
      waiting_for: result.waitingFor,
    };
  }

  private async deviceOf(value: string) {
    const uuid = canonicalUuid(value);
    const device = uuid ? await this.inventory.deviceByUuid(uuid) : null;
    if (!device) throw new NotFoundException(`Device not found with uuid=${value}`);
    return device;
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
