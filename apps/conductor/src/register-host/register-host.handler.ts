import { Controller, Injectable, Logger } from '@nestjs/common';
import { Ctx, MessagePattern, NatsContext, Payload } from '@nestjs/microservices';
import {
  ConductorCommands,
  type CyborgEvent,
  hostCommandPattern,
  RegisterHostCommand,
  type RegisterHostResult,
  Streams,
} from '@cyborg/contracts';
import {
  decideRegisterHost,
  deviceShapesOf,
  heldHandlesOf,
  HostAggregate,
  type HostState,
  releasedHandlesOf,
} from '@cyborg/domain';
import { CommandHandler } from '@cyborg/event-store';
import { AgentWorkClient } from '../arqs/agent-work.client';
import { requireSubjectHost } from '../host-commands/subject-host';

@Injectable()
export class RegisterHostHandler {
  constructor(
    private readonly commands: CommandHandler<CyborgEvent>,
    private readonly agents: AgentWorkClient,
  ) {}

  async handle(command: RegisterHostCommand): Promise<RegisterHostResult> {
    const streamId = Streams.host(command.hostname);
    let decidedOn: HostState | null = null;
    const outcome = await this.commands.handle<{ hostname: string; changed: boolean }>(
      {
        commandId: command.commandId,
        type: ConductorCommands.registerHost,
        payload: command,
        metadata: { ...command.caller },
      },
      async (read) => {
        const { state } = await read(HostAggregate, streamId);
        const decided = decideRegisterHost(command, state);
        decidedOn = decided.reduce(HostAggregate.evolve, state);
        return {
          appends: [{ streamId, events: decided }],
          result: { hostname: command.hostname, changed: decided.length > 0 },
        };
      },
    );
    // Never stored with the command: a repeated registration gets what holds now. A first run's
    // append went in at the version it decided on, so that state and its events are what holds now.
    const state =
      !outcome.duplicate && decidedOn ? decidedOn : (await this.commands.read(HostAggregate, streamId)).state;
    this.agents.agentRegistered(command.hostname);
    return {
      ...outcome.result,
      heldHandles: heldHandlesOf(state),
      deviceShapes: deviceShapesOf(state),
      releasedHandles: releasedHandlesOf(state),
    };
  }
}

@Controller()
export class RegisterHostController {
  private readonly logger = new Logger('register-host');

  constructor(private readonly handler: RegisterHostHandler) {}

  @MessagePattern(hostCommandPattern(ConductorCommands.registerHost))
  registerHost(@Payload() command: RegisterHostCommand, @Ctx() context: NatsContext): Promise<RegisterHostResult> {
    requireSubjectHost(context, command.hostname, this.logger);
    return this.handler.handle(command);
  }
}
