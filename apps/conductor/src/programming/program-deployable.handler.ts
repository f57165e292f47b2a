import { Controller, Injectable, Logger } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { Settings } from '@cyborg/config';
import {
  agentSubject,
  AgentWork,
  type CommandReply,
  conductorSubject,
  ConductorCommands,
  type CyborgEvent,
  DeployableProgrammingFailed,
  DeployableProgrammingStarted,
  ProgramDeployableCommand,
  type ProgramDeployableResult,
  type ProgramDeployableWork,
  type ProgramProblem,
  type ProgramWorkReply,
  Streams,
} from '@cyborg/contracts';
import { checkProgrammable, decideRecordProgramming, DomainError, HostAggregate } from '@cyborg/domain';
import { CommandHandler } from '@cyborg/event-store';
import { RpcClient, RpcFailure } from '@cyborg/messaging';
import { failureOf, runCommand } from '../command-failure';

/**
 * An operator's `PATCH /deployables/{uuid}/program` (Cyborg §8.4), done
 * right: refused while a guest uses the device, nothing is done when the
 * deployable carries the bitstream already, binds wait while it runs, the
 * agent verifies the image before programming, and a failure is reported
 * (upstream answers 200 whatever the driver said).
 */
@Injectable()
export class ProgramDeployableHandler {
  private readonly logger = new Logger('programming');

  constructor(
    private readonly commands: CommandHandler<CyborgEvent>,
    private readonly rpc: RpcClient,
    private readonly settings: Settings,
  ) {}

  async handle(command: ProgramDeployableCommand): Promise<CommandReply<ProgramDeployableResult>> {
    const { hostname, deployableUuid, bitstreamId } = command;
    const streamId = Streams.host(hostname);
    const metadata = { ...command.caller };
    const deadline = new Date(Date.now() + this.settings.PROGRAM_TIMEOUT_MS).toISOString();

    const start = await runCommand(() =>
      this.commands.handle<{ needed: boolean; deployableName: string; driverName: string; deadline: string }>(
        {
          commandId: `${command.commandId}:start`,
          type: ConductorCommands.programDeployable,
          payload: { hostname, deployableUuid, bitstreamId },
          metadata,
        },
        async (read) => {
          const { state } = await read(HostAggregate, streamId);
          const deployable = checkProgrammable({ hostname, deployableUuid }, state);
          if (deployable instanceof DomainError) throw failureOf(deployable);
          // The agent driver that reported the device programs it (a deployable's own driver name is the vendor's).
          const device = state.inventory.devices.get(deployable.deviceUuid);
          const driverName = device?.driverName ?? deployable.driverName;
          const result = { deployableName: deployable.name, driverName, deadline };
          if (deployable.bitstreamId === bitstreamId) return { appends: [], result: { needed: false, ...result } };
          const data = { hostname, uuid: deployable.uuid, name: deployable.name, bitstreamId, deadline };
          const events = [{ type: DeployableProgrammingStarted.type, data }];
          return { appends: [{ streamId, events }], result: { needed: true, ...result } };
        },
      ),
    );
    if (!start.result.needed) return { result: { programmed: false }, checkpoint: start.checkpoint };

    const { deployableName, driverName } = start.result;
    const reply = await this.askAgent(hostname, {
      jobId: command.commandId,
      deployableName,
      driverName,
      program: { bitstreamId, functionId: null },
      deadline: start.result.deadline,
    });

    const end = await this.commands.handle<{ recorded: boolean }>(
      {
        commandId: `${command.commandId}:end`,
        type: ConductorCommands.programDeployable,
        payload: { hostname, deployableUuid, bitstreamId, ok: reply.ok },
        metadata: reply.ok ? metadata : { ...metadata, reason: reply.reason },
      },
      async (read) => {
        const { state } = await read(HostAggregate, streamId);
        let events: CyborgEvent[];
        if (reply.ok) {
          events = decideRecordProgramming(
            { hostname, deployableUuid, programmed: reply.programmed, arqUuid: null },
            state,
          );
        } else {
          const data = { hostname, uuid: deployableUuid, name: deployableName, bitstreamId, reason: reply.reason };
          events = state.inventory.deployables.has(deployableUuid)
            ? [{ type: DeployableProgrammingFailed.type, data }]
            : [];
        }
        return { appends: [{ streamId, events }], result: { recorded: events.length > 0 } };
      },
    );
    if (!reply.ok) {
      this.logger.warn({ msg: 'programming failed', hostname, deployable: deployableName, reason: reply.reason });
      throw failureOfProgram(reply.reason, reply.problem);
    }
    return { result: { programmed: true }, checkpoint: end.checkpoint ?? start.checkpoint };
  }

  private async askAgent(hostname: string, work: ProgramDeployableWork): Promise<ProgramWorkReply> {
    const left = Date.parse(work.deadline) - Date.now();
    try {
      return await this.rpc.request<ProgramWorkReply>(agentSubject(hostname, AgentWork.program), work, {
        timeoutMs: Math.max(1, left),
      });
    } catch (error) {
      const failure = error instanceof RpcFailure ? error : RpcFailure.internal(String(error));
      if (failure.code === 'timeout')
        return { ok: false, problem: 'timeout', reason: `the agent of host ${hostname} did not answer in time` };
      if (failure.status === 503)
        return { ok: false, problem: 'unavailable', reason: `no agent of host ${hostname} is running` };
      return { ok: false, reason: `the agent of host ${hostname} refused: ${failure.message}` };
    }
  }
}

/** Bad input is the caller's (4xx); a device or a store that fails is ours to report as such. */
function failureOfProgram(reason: string, problem: ProgramProblem | undefined): RpcFailure {
  const message = `FPGA programming failed: ${reason}`;
  switch (problem) {
    case 'not_found':
    case 'ambiguous':
      return RpcFailure.invalid(message, { code: 'bitstream_not_found' });
    case 'no_checksum':
    case 'checksum_mismatch':
      return RpcFailure.unprocessable(message, { code: 'bitstream_unverified' });
    case 'no_source':
      return RpcFailure.conflict(message, { code: 'no_bitstream_source' });
    case 'timeout':
      return RpcFailure.timeout(message, { code: 'programming_timeout' });
    case 'unavailable':
      return RpcFailure.unavailable(message, { code: 'bitstream_unavailable' });
    default:
      return RpcFailure.badReply(message, { code: 'programming_failed' });
  }
}

@Controller()
export class ProgramDeployableController {
  constructor(private readonly handler: ProgramDeployableHandler) {}

  @MessagePattern(conductorSubject(ConductorCommands.programDeployable))
  program(@Payload() command: ProgramDeployableCommand): Promise<CommandReply<ProgramDeployableResult>> {
    return this.handler.handle(command);
  }
}
