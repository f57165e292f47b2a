import { Controller, Injectable, Logger } from '@nestjs/common';
import { Settings } from '@cyborg/config';
import { Ctx, MessagePattern, NatsContext, Payload } from '@nestjs/microservices';
import {
  type CommandReply,
  ConductorCommands,
  type CyborgEvent,
  hostCommandPattern,
  ReportInventoryCommand,
  ReportInventoryErrors,
  ReportInventoryHeader,
  type ReportInventoryResult,
  type StaleInventoryReport,
  Streams,
} from '@cyborg/contracts';
import {
  decideReportInventory,
  DomainError,
  HostAggregate,
  type HostState,
  isUnchangedInventory,
} from '@cyborg/domain';
import { inventoryHash } from '@cyborg/drivers';
import { type Command, CommandHandler } from '@cyborg/event-store';
import { RpcFailure, validateMessage } from '@cyborg/messaging';
import { failureOf, runCommand } from '../command-failure';
import { HostLiveness } from '../host-liveness/host-liveness';
import { requireSubjectHost } from '../host-commands/subject-host';
import { arqHealthAppends } from './arq-health-marks';

/**
 * Records an agent's inventory snapshot as the changes since the last one.
 * Agents report every minute and almost always unchanged, so the hash is
 * compared first, against a cached host state that reads only new events,
 * and before the snapshot is validated: an unchanged report costs the
 * validation of its header, one empty read, and appends nothing.
 */
@Injectable()
export class ReportInventoryHandler {
  private readonly logger = new Logger('report-inventory');
  constructor(
    private readonly commands: CommandHandler<CyborgEvent>,
    private readonly liveness: HostLiveness,
    private readonly settings: Settings,
  ) {}

  /** A report as it came: its header is validated first, the devices only when the hash changed. */
  async handleMessage(
    payload: unknown,
    checkHost: (hostname: string) => void,
  ): Promise<CommandReply<ReportInventoryResult>> {
    const header = await validateMessage(ReportInventoryHeader, withoutDevices(payload));
    checkHost(header.hostname);
    const current = await this.commands.read(HostAggregate, Streams.host(header.hostname));
    // A report is a sign of life: a host marked down comes back, and is watched again.
    if (current.state.down) await this.liveness.heardAgain(header.hostname);
    if (isUnchangedInventory(header, current.state)) {
      const last = current.state.inventory.lastReport;
      // Generations rise with every report, so a fresh one is above the recorded one: only a replayed
      // command (or a stale report) is at or below it, and a replay still gets its first answer.
      if (last && header.generation <= last.generation) {
        const command = await validateMessage(ReportInventoryCommand, payload);
        const replayed = await runCommand(() => this.commands.recorded<ReportInventoryResult>(executableOf(command)));
        if (replayed) return { result: replayed.result, checkpoint: replayed.checkpoint };
      }
      return { result: resultOf(header.hostname, current.state, 0), checkpoint: null };
    }
    return this.record(await validateMessage(ReportInventoryCommand, payload));
  }

  /** Records a validated report whose hash differs from the recorded one. */
  private async record(command: ReportInventoryCommand): Promise<CommandReply<ReportInventoryResult>> {
    const { hostname } = command;
    const streamId = Streams.host(hostname);
    const executable = executableOf(command);
    // The hash decides whether later reports are skipped, so it must be the devices' own.
    if (inventoryHash({ hostname, devices: command.devices }) !== command.inventoryHash) {
      this.logger.warn({ msg: 'refused an inventory report', hostname, reason: 'inventoryHash mismatch' });
      throw RpcFailure.invalid(`inventoryHash of host ${hostname} does not match the devices reported`, {
        code: 'inventory_hash_mismatch',
      });
    }
    const outcome = await runCommand(() =>
      this.commands.handle<ReportInventoryResult>(executable, async (read) => {
        const { state } = await read(HostAggregate, streamId);
        const events = decideReportInventory(command, state, { stickyFence: this.settings.HEALTH_FENCE_STICKY });
        if (events instanceof DomainError) {
          // A stale report is routine (the agent continues above it); anything else is a broken or lying agent.
          if (events.code !== ReportInventoryErrors.staleReport) {
            this.logger.warn({ msg: 'refused an inventory report', hostname, reason: events.message });
          }
          throw refusal(events, state);
        }
        // ARQs bound to a device whose health changed are marked in the same append.
        const marks = await arqHealthAppends(read, events, state);
        return {
          appends: [{ streamId, events }, ...marks],
          result:
            events.length === 0
              ? resultOf(hostname, state, 0)
              : { hostname, changed: true, generation: command.generation, events: events.length },
        };
      }),
    );
    if (outcome.result.changed && !outcome.duplicate) {
      this.logger.log({
        msg: 'inventory changed',
        hostname,
        generation: command.generation,
        events: outcome.result.events,
        commandId: command.commandId,
      });
    }
    return { result: outcome.result, checkpoint: outcome.checkpoint };
  }
}

function executableOf(command: ReportInventoryCommand): Command {
  return {
    commandId: command.commandId,
    type: ConductorCommands.reportInventory,
    payload: command,
    metadata: { ...command.caller },
  };
}

/** The report without its devices, for the header's validation; anything but an object is left to it. */
function withoutDevices(payload: unknown): unknown {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return payload;
  const { devices: _devices, ...header } = payload as Record<string, unknown>;
  return header;
}

function resultOf(hostname: string, state: HostState, events: number): ReportInventoryResult {
  return { hostname, changed: events > 0, generation: state.inventory.lastReport?.generation ?? 0, events };
}

/** A stale report tells the agent the recorded generation, so it can continue above it. */
function refusal(error: DomainError, state: HostState): RpcFailure {
  if (error.code !== ReportInventoryErrors.staleReport) return failureOf(error);
  const details: StaleInventoryReport = { recordedGeneration: state.inventory.lastReport?.generation ?? 0 };
  return RpcFailure.conflict(error.message, { code: error.code, details });
}

@Controller()
export class ReportInventoryController {
  private readonly logger = new Logger('report-inventory');

  constructor(private readonly handler: ReportInventoryHandler) {}

  @MessagePattern(hostCommandPattern(ConductorCommands.reportInventory))
  reportInventory(
    // Validated by the handler: the header first, the devices only for a changed report.
    @Payload() payload: unknown,
    @Ctx() context: NatsContext,
  ): Promise<CommandReply<ReportInventoryResult>> {
    return this.handler.handleMessage(payload, (hostname) => requireSubjectHost(context, hostname, this.logger));
  }
}
