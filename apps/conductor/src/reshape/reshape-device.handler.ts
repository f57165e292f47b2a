import { randomUUID } from 'node:crypto';
import {
  Controller,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { Settings } from '@cyborg/config';
import {
  agentSubject,
  AgentWork,
  type CommandReply,
  conductorSubject,
  ConductorCommands,
  type CyborgEvent,
  DeviceReshapeRequested,
  ReshapeDeviceCommand,
  type ReshapeDeviceResult,
  type ReshapeDeviceWork,
  type ReshapeWorkReply,
  Streams,
} from '@cyborg/contracts';
import {
  decideRecordReshape,
  decideRequestReshape,
  DomainError,
  HostAggregate,
  readyReshape,
  readyReshapes,
} from '@cyborg/domain';
import { type Checkpoint, CommandHandler, EventStore } from '@cyborg/event-store';
import { RpcClient, RpcFailure } from '@cyborg/messaging';
import { failureOf, runCommand } from '../command-failure';
import { HostLocks } from '../arqs/host-locks';

interface ReshapeOutcome {
  state: 'applied' | 'failed';
  reasons: string[];
  checkpoint: Checkpoint | null;
}

/**
 * Applies pending reshapes: asks the host's agent (which applies it through
 * its driver and reports the new inventory), then records Applied or Failed
 * on the host stream. One run per reshape in this conductor; a reshape that
 * waits for ARQs runs once the last of them let go (ReleaseArqsHandler calls
 * `resume`). A reshape recorded by a conductor that stopped before applying
 * it would fence its device for good: at start, and then every
 * RESHAPE_SWEEP_INTERVAL_MS, every pending reshape whose device is free is
 * run again (the agent answers a job it knows once; the end is recorded once),
 * ending Applied, or Failed with the agent's reason or its silence after
 * RESHAPE_TIMEOUT_MS.
 */
@Injectable()
export class ReshapeJobs implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('reshape');
  private readonly running = new Map<string, Promise<ReshapeOutcome | null>>();
  private sweeper: NodeJS.Timeout | null = null;
  private stopping = false;

  constructor(
    private readonly store: EventStore<CyborgEvent>,
    private readonly commands: CommandHandler<CyborgEvent>,
    private readonly rpc: RpcClient,
    private readonly settings: Settings,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.sweep().catch((error: unknown) =>
      this.logger.error({ msg: 'sweep of unfinished reshapes failed', error: String(error) }),
    );
    this.sweeper = setInterval(() => {
      this.sweep().catch((error: unknown) =>
        this.logger.warn({ msg: 'sweep of unfinished reshapes failed', error: String(error) }),
      );
    }, this.settings.RESHAPE_SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  onApplicationShutdown(): void {
    // A reshape still running stays pending in the log; the next sweep (here or elsewhere) ends it.
    this.stopping = true;
    if (this.sweeper) clearInterval(this.sweeper);
  }

  /** Runs the device's pending reshape if nothing on it is bound; null when there is none to run. */
  run(hostname: string, deviceUuid: string): Promise<ReshapeOutcome | null> {
    const key = `${hostname} ${deviceUuid}`;
    const known = this.running.get(key);
    if (known) return known;
    const job = this.apply(hostname, deviceUuid).finally(() => this.running.delete(key));
    this.running.set(key, job);
    return job;
  }

  /** After ARQs let go of handles: runs the reshapes of these hosts that waited for them. */
  resume(hostnames: readonly string[]): void {
    for (const hostname of hostnames) void this.resumeHost(hostname, false);
  }

  /** Every host that ever had a reshape: its pending ones on free devices run now. */
  private async sweep(): Promise<void> {
    const streams = await this.store.streamsWithEvent('host', DeviceReshapeRequested.type);
    for (const streamId of streams) {
      if (this.stopping) return;
      await this.resumeHost(streamId.slice(Streams.host('').length), true);
    }
  }

  private async resumeHost(hostname: string, swept: boolean): Promise<void> {
    try {
      // After a release here, the state held is the host's as of that release's append: nothing to read.
      const read = swept ? this.commands.read : this.commands.peek;
      const { state } = await read(HostAggregate, Streams.host(hostname));
      for (const device of readyReshapes(state)) {
        if (swept && this.running.has(`${hostname} ${device}`)) continue;
        if (swept) this.logger.log({ msg: 'resuming a reshape left unfinished', hostname, device });
        this.run(hostname, device).catch((error: unknown) =>
          this.logger.warn({ msg: 'reshape could not be ended', hostname, device, error: String(error) }),
        );
      }
    } catch (error) {
      this.logger.warn({ msg: 'could not resume waiting reshapes', hostname, error: String(error) });
    }
  }

  private async apply(hostname: string, deviceUuid: string): Promise<ReshapeOutcome | null> {
    const streamId = Streams.host(hostname);
    const { state } = await this.commands.read(HostAggregate, streamId);
    const pending = readyReshape(deviceUuid, state);
    const device = state.inventory.devices.get(deviceUuid);
    if (!pending || !device) return null;
    const work: ReshapeDeviceWork = {
      jobId: pending.reshapeId,
      driverName: device.driverName,
      controlPathId: device.controlPathId,
      spec: pending.spec,
      deadline: new Date(Date.now() + this.settings.RESHAPE_TIMEOUT_MS).toISOString(),
    };
    const reply = await this.askAgent(hostname, work);
    const outcome = await this.commands.handle<{ recorded: boolean }>(
      {
        commandId: `${pending.reshapeId}:end`,
        type: ConductorCommands.reshapeDevice,
        payload: { hostname, deviceUuid, reshapeId: pending.reshapeId, reply },
        metadata: reply.ok ? {} : { reason: reply.reasons.join('; ') },
      },
      async (read) => {
        const { state: now } = await read(HostAggregate, streamId);
        const events = decideRecordReshape({ hostname, deviceUuid, reshapeId: pending.reshapeId, outcome: reply }, now);
        return { appends: [{ streamId, events }], result: { recorded: events.length > 0 } };
      },
    );
    if (!reply.ok) this.logger.warn({ msg: 'reshape failed', hostname, deviceUuid, reasons: reply.reasons });
    return {
      state: reply.ok ? 'applied' : 'failed',
      reasons: reply.ok ? [] : reply.reasons,
      checkpoint: outcome.checkpoint,
    };
  }

  private async askAgent(hostname: string, work: ReshapeDeviceWork): Promise<ReshapeWorkReply> {
    try {
      return await this.rpc.request<ReshapeWorkReply>(agentSubject(hostname, AgentWork.reshape), work, {
        timeoutMs: this.settings.RESHAPE_TIMEOUT_MS,
      });
    } catch (error) {
      const failure = error instanceof RpcFailure ? error : RpcFailure.internal(String(error));
      if (failure.code === 'timeout')
        return { ok: false, reasons: [`the agent of host ${hostname} did not answer in time`] };
      if (failure.status === 503) return { ok: false, reasons: [`no agent of host ${hostname} is running`] };
      return { ok: false, reasons: [`the agent of host ${hostname} refused: ${failure.message}`] };
    }
  }
}

/** An admin's reshape: recorded (binds to the device wait), then applied at once or once the device is free. */
@Injectable()
export class ReshapeDeviceHandler {
  constructor(
    private readonly commands: CommandHandler<CyborgEvent>,
    private readonly locks: HostLocks,
    private readonly jobs: ReshapeJobs,
  ) {}

  async handle(command: ReshapeDeviceCommand): Promise<CommandReply<ReshapeDeviceResult>> {
    const { hostname, deviceUuid, whenBusy } = command;
    const spec = { ...command.spec };
    const streamId = Streams.host(hostname);
    // Chosen once: a decision retried after a conflict keeps it.
    const reshapeId = randomUUID();
    const requested = await this.locks.run([hostname], () =>
      runCommand(() =>
        this.commands.handle<{ reshapeId: string; waitingFor: string[] }>(
          {
            commandId: command.commandId,
            type: ConductorCommands.reshapeDevice,
            payload: { hostname, deviceUuid, spec, whenBusy },
            metadata: { ...command.caller },
          },
          async (read) => {
            const { state } = await read(HostAggregate, streamId);
            const events = decideRequestReshape({ hostname, deviceUuid, reshapeId, spec, whenBusy }, state);
            if (events instanceof DomainError) throw failureOf(events);
            const waitingFor = events.flatMap((e) => (e.type === 'DeviceReshapeRequested' ? e.data.waitingFor : []));
            return { appends: [{ streamId, events }], result: { reshapeId, waitingFor } };
          },
        ),
      ),
    );
    const { result } = requested;
    if (result.waitingFor.length > 0) {
      return {
        result: { reshapeId: result.reshapeId, state: 'waiting', reasons: [], waitingFor: result.waitingFor },
        checkpoint: requested.checkpoint,
      };
    }
    const outcome = await this.jobs.run(hostname, deviceUuid);
    if (outcome?.state === 'failed') {
      throw RpcFailure.conflict(`Reshape of device ${deviceUuid} failed: ${outcome.reasons.join('; ')}`, {
        code: 'reshape_failed',
      });
    }
    return {
      result: { reshapeId: result.reshapeId, state: 'applied', reasons: [], waitingFor: [] },
      checkpoint: outcome?.checkpoint ?? requested.checkpoint,
    };
  }
}

@Controller()
export class ReshapeDeviceController {
  constructor(private readonly handler: ReshapeDeviceHandler) {}

  @MessagePattern(conductorSubject(ConductorCommands.reshapeDevice))
  reshape(@Payload() command: ReshapeDeviceCommand): Promise<CommandReply<ReshapeDeviceResult>> {
    return this.handler.handle(command);
  }
}
