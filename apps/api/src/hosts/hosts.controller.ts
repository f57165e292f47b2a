import { Controller, Get, NotFoundException, Param, Query, Req } from '@nestjs/common';
import type { Request } from 'express';
import { cyborgTimestamp, visibilityOf } from '@cyborg/contracts';
import {
  ArqsReadModel,
  type ArqView,
  type AttachHandleView,
  type DeployableView,
  HostsReadModel,
  type HostView,
} from '@cyborg/projections';
import { callerFrom } from '../http/caller';
import { Versioned } from '../http/microversion';
import { Authorize } from '../http/policy.guard';
import { strictQuery } from '../http/query';

const at = (value: Date | null) => (value ? cyborgTimestamp(value) : null);

export interface HostBody {
  hostname: string;
  up: boolean;
  last_heartbeat_at: string | null;
  liveness_changed_at: string | null;
  agent_version: string | null;
  drivers: string[];
  registered_at: string | null;
  devices: number;
  deployables: number;
  attach_handles: number;
  attach_handles_in_use: number;
}

/** An attach handle and who holds it: the ARQ, its instance and project, from the ARQ read model. */
export interface AttachHandleBody {
  uuid: string;
  type: string;
  attach_info: string;
  in_use: boolean;
  draining: boolean;
  arq_uuid: string | null;
  arq_state: string | null;
  instance_uuid: string | null;
  project_id: string | null;
}

export interface DeployableNode {
  uuid: string;
  name: string;
  num_accelerators: number;
  rp_uuid: string;
  driver_name: string | null;
  bitstream_id: string | null;
  attributes: { key: string; value: string }[];
  attach_handles: AttachHandleBody[];
  children: DeployableNode[];
}

export interface HostDetailBody extends HostBody {
  devices_tree: {
    uuid: string;
    type: string;
    vendor: string;
    model: string;
    status: string;
    std_board_info: string | null;
    deployables: DeployableNode[];
  }[];
}

/**
 * Hosts (an extension; upstream has none): each agent's version and
 * drivers, whether the conductors consider it up, its last heartbeat, and
 * under each host its devices, their deployable tree and the attach handles
 * with the ARQ and instance holding each. The admin's.
 */
@Controller('v2/hosts')
@Versioned()
export class HostsController {
  constructor(
    private readonly hosts: HostsReadModel,
    private readonly arqs: ArqsReadModel,
  ) {}

  @Authorize('cyborg:host:get_all')
  @Get()
  async list(@Query() query: Record<string, unknown>): Promise<{ hosts: HostBody[] }> {
    strictQuery(query, []);
    return { hosts: (await this.hosts.list()).map(hostBody) };
  }

  @Authorize('cyborg:host:get_one')
  @Get(':hostname')
  async get(
    @Req() request: Request,
    @Param('hostname') hostname: string,
    @Query() query: Record<string, unknown>,
  ): Promise<HostDetailBody> {
    strictQuery(query, []);
    const [host] = await this.hosts.list(hostname);
    if (!host) throw new NotFoundException(`Host ${hostname} not found`);
    const inventory = await this.hosts.inventoryOf(hostname);
    const held = inventory.attachHandles.map((h) => h.allocatedTo).filter((uuid): uuid is string => uuid !== null);
    const arqs = new Map(
      (await this.arqs.byUuids([...new Set(held)], visibilityOf(callerFrom(request)))).map((a) => [a.uuid, a]),
    );
    const handlesOf = new Map<string, AttachHandleBody[]>();
    for (const handle of inventory.attachHandles) {
      const list = handlesOf.get(handle.deployableUuid) ?? [];
      list.push(handleBody(handle, handle.allocatedTo ? arqs.get(handle.allocatedTo) : undefined));
      handlesOf.set(handle.deployableUuid, list);
    }
    const node = (d: DeployableView): DeployableNode => ({
      uuid: d.uuid,
      name: d.name,
      num_accelerators: d.numAccelerators,
      rp_uuid: d.rpUuid,
      driver_name: d.driverName,
      bitstream_id: d.bitstreamId,
      attributes: d.attributes,
      attach_handles: handlesOf.get(d.uuid) ?? [],
      children: inventory.deployables.filter((c) => c.parentUuid === d.uuid).map(node),
    });
    return {
      ...hostBody(host),
      devices_tree: inventory.devices.map((device) => ({
        uuid: device.uuid,
        type: device.type,
        vendor: device.vendor,
        model: device.model,
        status: device.status,
        std_board_info: device.stdBoardInfo,
        deployables: inventory.deployables
          .filter(
            (d) =>
              d.deviceUuid === device.uuid &&
              (d.parentUuid === null || !inventory.deployables.some((p) => p.uuid === d.parentUuid)),
          )
          .map(node),
      })),
    };
  }
}

function hostBody(host: HostView): HostBody {
  return {
    hostname: host.hostname,
    up: host.up,
    last_heartbeat_at: at(host.lastHeartbeatAt),
    liveness_changed_at: at(host.livenessChangedAt),
    agent_version: host.agentVersion,
    drivers: host.drivers,
    registered_at: at(host.registeredAt),
    devices: host.devices,
    deployables: host.deployables,
    attach_handles: host.attachHandles,
    attach_handles_in_use: host.attachHandlesInUse,
  };
}

function handleBody(handle: AttachHandleView, arq: ArqView | undefined): AttachHandleBody {
  return {
    uuid: handle.uuid,
    type: handle.type,
    attach_info: handle.info,
    in_use: handle.inUse,
    draining: handle.draining,
    arq_uuid: handle.allocatedTo,
    arq_state: arq?.state ?? null,
    instance_uuid: arq?.instanceUuid ?? null,
    project_id: arq?.projectId ?? null,
  };
}
