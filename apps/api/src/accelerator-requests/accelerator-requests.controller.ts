import {
  BadRequestException,
  Body,
  Controller,
  Delete,
  ForbiddenException,
  Get,
  HttpCode,
  NotFoundException,
  Param,
  Patch,
  Post,
  Query,
  Req,
  UnsupportedMediaTypeException,
} from '@nestjs/common';
import type { Request } from 'express';
import {
  type BindArqsResult,
  ConductorCommands,
  type CreateArqsResult,
  type DeleteArqsResult,
  MAX_ARQS_PER_COMMAND,
  type UnbindArqsResult,
  visibilityOf,
} from '@cyborg/contracts';
import { canonicalUuid, RESOLVED_ARQ_STATES } from '@cyborg/domain';
import { RpcFailure } from '@cyborg/messaging';
import { ArqsReadModel } from '@cyborg/projections';
import { callerFrom } from '../http/caller';
import { CommandSender } from '../http/command-sender';
import { UnresolvedArqsError } from '../http/cyborg-error';
import { type Microversion, RequestedMicroversion, Versioned } from '../http/microversion';
import { uuidPathParam } from '../http/path-uuid';
import { PAGING_PARAMS, pagingOf, readPage } from '../http/paging';
import { strictQuery } from '../http/query';
import { type ArqBody, arqBody } from './arq.view';
import { parseArqPatch } from './arq-patch';
import { Authorize } from '../http/policy.guard';

const JSON_TYPES = ['application/json', 'application/*+json'];
const SERVICE_TOKEN_NEEDED =
  'This operation requires a service token. Use the Compute API to manage instance accelerators.';

/**
 * Cyborg §5: accelerator requests. Another project's ARQs are invisible
 * (404); binding, unbinding, deleting by instance and deleting a bound ARQ
 * need a service token (§5.7). Reads come from the `arqs` read model, writes
 * go to the conductor, which decides them against the ARQ and host streams.
 */
@Controller(['v2/accelerator_requests', 'accelerator_requests'])
@Versioned()
export class AcceleratorRequestsController {
  constructor(
    private readonly arqs: ArqsReadModel,
    private readonly commands: CommandSender,
  ) {}

  @Authorize('cyborg:arq:get_all')
  @Get()
  async list(
    @Req() request: Request,
    @Query() query: Record<string, unknown>,
    @RequestedMicroversion() version: Microversion,
  ): Promise<{ arqs: ArqBody[] }> {
    const {
      instance,
      bind_state: bindState,
      ...paging
    } = strictQuery(query, ['instance', 'bind_state', ...PAGING_PARAMS]);
    const instanceUuid = instance === undefined ? undefined : uuidQueryParam(instance);
    if (bindState !== undefined && bindState !== 'resolved') {
      // Cyborg answers a 500 here; the words are its own.
      throw new BadRequestException(`Bad state: ${bindState} for ARQ: None. Expected state(s): ['resolved']`);
    }
    const visibility = visibilityOf(callerFrom(request));
    if (bindState === 'resolved' && instanceUuid !== undefined) {
      // Nova waits on this: all of the instance's ARQs resolved, or 423.
      const all = await this.arqs.list(visibility, { instanceUuid });
      if (!all.every((row) => RESOLVED_ARQ_STATES.includes(row.state))) throw new UnresolvedArqsError();
    }
    const states = bindState === 'resolved' ? RESOLVED_ARQ_STATES : undefined;
    const rows = await readPage(pagingOf(paging), (page) => this.arqs.list(visibility, { instanceUuid, states }, page));
    return { arqs: rows.map((row) => arqBody(request, row, version)) };
  }

  @Authorize('cyborg:arq:get_one')
  @Get(':uuid')
  async get(
    @Req() request: Request,
    @Param('uuid') value: string,
    @Query() query: Record<string, unknown>,
    @RequestedMicroversion() version: Microversion,
  ): Promise<ArqBody> {
    strictQuery(query, []);
    const uuid = uuidPathParam(value);
    const arq = await this.arqs.byUuid(uuid, visibilityOf(callerFrom(request)));
    if (!arq) throw new NotFoundException(`ExtArq not found with uuid=${value}`);
    return arqBody(request, arq, version);
  }

  /** `{"device_profile_name": "<dp>"}`; other keys are ignored, as clients send some. 201 with the ARQs. */
  @Authorize('cyborg:arq:create')
  @Post()
  async create(
    @Req() request: Request,
    @Body() body: unknown,
    @Query() query: Record<string, unknown>,
    @RequestedMicroversion() version: Microversion,
  ): Promise<{ arqs: ArqBody[] }> {
    strictQuery(query, []);
    requireJson(request);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new BadRequestException('The request body must be a JSON object.');
    }
    const name: unknown = (body as Record<string, unknown>).device_profile_name;
    if (name === undefined || name === null) throw new BadRequestException('DeviceProfile name needed.');
    if (typeof name !== 'string') throw new BadRequestException('device_profile_name must be a string.');
    const created = await this.commands.send<CreateArqsResult>(request, ConductorCommands.createArqs, {
      deviceProfileName: name,
    });
    return {
      arqs: created.arqs.map((arq) =>
        arqBody(
          request,
          {
            ...arq,
            state: 'Initial',
            hostname: null,
            deviceRpUuid: null,
            instanceUuid: null,
            attachHandleUuid: null,
            attachHandleType: null,
            attachHandleInfo: null,
            bindFailure: null,
            deviceHealth: null,
            deviceHealthReasons: [],
            createdAt: new Date(arq.createdAt),
            updatedAt: null,
          },
          version,
        ),
      ),
    };
  }

  /** Bind or unbind (§5.5). The body's keys name the ARQs; a uuid in the path is ignored, as upstream. */
  @Authorize('cyborg:arq:update')
  @Patch()
  @HttpCode(202)
  async patch(
    @Req() request: Request,
    @Body() body: unknown,
    @Query() query: Record<string, unknown>,
    @RequestedMicroversion() version: Microversion,
  ): Promise<void> {
    strictQuery(query, []);
    requireJson(request);
    const caller = callerFrom(request);
    const patch = parseArqPatch(body, version, caller);
    if (!caller.service) throw new ForbiddenException(SERVICE_TOKEN_NEEDED);
    if (patch.kind === 'unbind') {
      await this.commands.send<UnbindArqsResult>(request, ConductorCommands.unbindArqs, { uuids: patch.uuids });
      return;
    }
    const instanceUuid = patch.bindings[0].instanceUuid;
    // The body's own ARQs do not count, so a replayed request (same Idempotency-Key) reaches the conductor.
    const inBody = new Set(patch.bindings.map((b) => b.uuid));
    const others = (await this.arqs.list(visibilityOf(caller), { instanceUuid })).filter((a) => !inBody.has(a.uuid));
    if (others.length > 0) {
      throw new BadRequestException(
        `Couldn't apply patch. Reason: Instance ${instanceUuid} already has accelerator requests. Cannot bind additional ARQs.`,
      );
    }
    const result = await this.commands.send<BindArqsResult>(request, ConductorCommands.bindArqs, {
      bindings: patch.bindings,
    });
    // The binds that could not start are BindFailed already (and Nova told); the request answers the first.
    if (result.failure) {
      const { code, status, message } = result.failure;
      throw new RpcFailure({ code, status, message });
    }
  }

  @Authorize('cyborg:arq:update')
  @Patch(':uuid')
  @HttpCode(202)
  patchByPath(
    @Req() request: Request,
    @Body() body: unknown,
    @Query() query: Record<string, unknown>,
    @RequestedMicroversion() version: Microversion,
  ): Promise<void> {
    return this.patch(request, body, query, version);
  }

  /** `?arqs=u1,u2` or `?instance=<uuid>`, exactly one of them (§5.6). */
  @Authorize('cyborg:arq:delete')
  @Delete()
  @HttpCode(204)
  async deleteByQuery(@Req() request: Request, @Query() query: Record<string, unknown>): Promise<void> {
    const { arqs, instance } = strictQuery(query, ['arqs', 'instance']);
    const uuids = (arqs ?? '')
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');
    if (uuids.length > 0 === (instance !== undefined && instance !== '')) {
      // Cyborg answers a 500 here; the words are its own.
      throw new BadRequestException(
        'Object action delete failed because: Provide either an ARQ uuid list or an instance UUID',
      );
    }
    if (uuids.length > 0) return this.deleteArqs(request, uuids);
    const instanceUuid = uuidQueryParam(instance!);
    const caller = callerFrom(request);
    if (!caller.service) throw new ForbiddenException(SERVICE_TOKEN_NEEDED);
    // The conductor also deletes what the instance's stream holds: a read model that has not caught up
    // with a bind yet must not leave that ARQ bound, holding its handle.
    const bound = await this.arqs.list(visibilityOf(caller), { instanceUuid });
    await this.commands.send<DeleteArqsResult>(request, ConductorCommands.deleteArqs, {
      uuids: bound.map((arq) => arq.uuid),
      instanceUuid,
    });
  }

  /** openstacksdk's and OSC's form: the same as `?arqs=<uuid>`. */
  @Authorize('cyborg:arq:delete')
  @Delete(':uuid')
  @HttpCode(204)
  async deleteByPath(
    @Req() request: Request,
    @Param('uuid') value: string,
    @Query() query: Record<string, unknown>,
  ): Promise<void> {
    strictQuery(query, []);
    await this.deleteArqs(request, [value]);
  }

  private async deleteArqs(request: Request, values: string[]): Promise<void> {
    if (values.length > MAX_ARQS_PER_COMMAND) {
      throw new BadRequestException(`At most ${MAX_ARQS_PER_COMMAND} ARQs can be deleted at once.`);
    }
    const unknown = values.find((value) => canonicalUuid(value) === null);
    if (unknown !== undefined) throw new NotFoundException(`ExtArq not found with uuid=${unknown}`);
    await this.commands.send<DeleteArqsResult>(request, ConductorCommands.deleteArqs, {
      uuids: values.map((value) => canonicalUuid(value)!),
    });
  }
}

/** A query parameter typed as a uuid (`instance`), in WSME's words when it is not one (§1.4). */
function uuidQueryParam(value: string): string {
  const uuid = canonicalUuid(value);
  if (!uuid) throw new BadRequestException(`Expected a uuid but received ${value}.`);
  return uuid;
}

function requireJson(request: Request): void {
  if (request.is(JSON_TYPES) === false) {
    const type = (request.get('Content-Type') ?? '').split(';')[0].trim();
    throw new UnsupportedMediaTypeException(`Unknown mimetype: ${type}`);
  }
}
