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
import { ConductorCommands, type CreateDeviceProfileResult, type DeleteDeviceProfileResult } from '@cyborg/contracts';
import { canonicalUuid, type DeviceProfileInput, DomainError, parseDeviceProfile } from '@cyborg/domain';
import { DeviceProfilesReadModel } from '@cyborg/projections';
import { CommandSender } from '../http/command-sender';
import { type Microversion, RequestedMicroversion, requireMicroversion, Versioned } from '../http/microversion';
import { PAGING_PARAMS, pagingOf, readPage } from '../http/paging';
import { strictQuery } from '../http/query';
import { type DeviceProfileBody, deviceProfileBody } from './device-profile.view';
import { Authorize } from '../http/policy.guard';

const JSON_TYPES = ['application/json', 'application/*+json'];

/** Cyborg §4, also under the unversioned alias that Cyborg's root controller routes to v2. */
@Controller(['v2/device_profiles', 'device_profiles'])
@Versioned()
export class DeviceProfilesController {
  constructor(
    private readonly profiles: DeviceProfilesReadModel,
    private readonly commands: CommandSender,
  ) {}

  @Authorize('cyborg:device_profile:get_all')
  @Get()
  async list(
    @Req() request: Request,
    @Query() query: Record<string, unknown>,
  ): Promise<{ device_profiles: DeviceProfileBody[] }> {
    const { name, ...paging } = strictQuery(query, ['name', ...PAGING_PARAMS]);
    // As Cyborg: an empty `name=` is no filter at all.
    const rows = await readPage(pagingOf(paging), (page) =>
      this.profiles.list(name ? name.split(',') : undefined, page),
    );
    return { device_profiles: rows.map((row) => deviceProfileBody(request, row)) };
  }

  @Authorize('cyborg:device_profile:get_one')
  @Get(':uuidOrName')
  async get(
    @Req() request: Request,
    @Param('uuidOrName') value: string,
    @Query() query: Record<string, unknown>,
    @RequestedMicroversion() version: Microversion,
  ): Promise<{ device_profile: DeviceProfileBody }> {
    strictQuery(query, []);
    const uuid = canonicalUuid(value);
    if (uuid) {
      const profile = await this.profiles.byUuid(uuid);
      if (!profile) throw new NotFoundException(`Device Profile not found with uuid=${value}`);
      return { device_profile: deviceProfileBody(request, profile) };
    }
    requireMicroversion(version, 2);
    const profile = await this.profiles.byName(value);
    if (!profile) throw new NotFoundException(`Device Profile not found with name=${value}`);
    return { device_profile: deviceProfileBody(request, profile) };
  }

  /** Body: a list holding one profile (Cyborg), or the profile itself. 201 with the profile, flat. */
  @Authorize('cyborg:device_profile:create')
  @Post()
  async create(
    @Req() request: Request,
    @Body() body: unknown,
    @Query() query: Record<string, unknown>,
  ): Promise<DeviceProfileBody> {
    strictQuery(query, []);
    if (request.is(JSON_TYPES) === false) {
      const type = (request.get('Content-Type') ?? '').split(';')[0].trim();
      throw new UnsupportedMediaTypeException(`Unknown mimetype: ${type}`);
    }
    const spec = parseDeviceProfile(singleProfile(body));
    if (spec instanceof DomainError) throw new BadRequestException(spec.message);
    const created = await this.commands.send<CreateDeviceProfileResult>(
      request,
      ConductorCommands.createDeviceProfile,
      spec,
    );
    return deviceProfileBody(request, { ...created, createdAt: new Date(created.createdAt), updatedAt: null });
  }

  /** `DELETE /v2/device_profiles?value=a,b` (and no value at all: 400). */
  @Authorize('cyborg:device_profile:delete')
  @Delete()
  @HttpCode(204)
  async deleteByQuery(@Req() request: Request, @Query() query: Record<string, unknown>): Promise<void> {
    const { value } = strictQuery(query, ['value']);
    await this.delete(request, value);
  }

  /** `DELETE /v2/device_profiles/<uuid>`, `/<name>` or `/<name>,<name>`. */
  @Authorize('cyborg:device_profile:delete')
  @Delete(':value')
  @HttpCode(204)
  async deleteByPath(
    @Req() request: Request,
    @Param('value') value: string,
    @Query() query: Record<string, unknown>,
  ): Promise<void> {
    if (strictQuery(query, ['value']).value !== undefined) {
      throw new BadRequestException('Parameter value was given several times');
    }
    await this.delete(request, value);
  }

  private async delete(request: Request, value: string | undefined): Promise<void> {
    const profiles = (value ?? '')
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');
    if (profiles.length === 0) throw new BadRequestException('Missing argument: "value"');
    await this.commands.send<DeleteDeviceProfileResult>(request, ConductorCommands.deleteDeviceProfile, { profiles });
  }
}

/** Cyborg takes a one-element list; a bare object is accepted too, as clients sometimes send one. */
function singleProfile(body: unknown): DeviceProfileInput {
  if (Array.isArray(body)) {
    if (body.length !== 1) throw new BadRequestException('Only one device profile allowed per POST request for now.');
    body = body[0];
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new BadRequestException('The request body must be a device profile, or a list holding one.');
  }
  return body as DeviceProfileInput;
}
