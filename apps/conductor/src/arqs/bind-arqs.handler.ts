import { Controller, Injectable } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { Settings } from '@cyborg/config';
import {
  type ArqBindStartedV1,
  BindArqsCommand,
  type BindArqsResult,
  type CommandReply,
  conductorSubject,
  ConductorCommands,
  type CyborgEvent,
} from '@cyborg/contracts';
import { decideBindArqs, DomainError, streamsOfBind } from '@cyborg/domain';
import { type Checkpoint, CommandHandler, compareCheckpoints } from '@cyborg/event-store';
import { processMetrics } from '@cyborg/metrics';
import { failureOf, runCommand } from '../command-failure';
import { appendsOf, arqCallerOf, loadArqBatch } from './arq-streams';
import { BindJobs } from './bind-jobs';
import { HostLocks } from './host-locks';

/**
 * Binds ARQs: loads the ARQ, host and instance streams the bindings name and
 * lets the domain decide them all (decideBindArqs), appended together. The
 * binds that started are then driven by BindJobs; the answer waits briefly
 * for them, so instant binds are already Bound when it comes, as upstream.
 * Nova hears of every end from the log.
 */
@Injectable()
export class BindArqsHandler {
  constructor(
    private readonly commands: CommandHandler<CyborgEvent>,
    private readonly locks: HostLocks,
    private readonly jobs: BindJobs,
    private readonly settings: Settings,
  ) {}

  async handle(command: BindArqsCommand): Promise<CommandReply<BindArqsResult>> {
    const caller = arqCallerOf(command.caller);
    const { bindings } = command;
    // Chosen once: a decision retried after a conflict keeps the same deadline.
    const deadline = this.jobs.deadlineOfNewBind();
    let started: ArqBindStartedV1[] = [];
    const outcome = await this.locks.run(streamsOfBind(bindings).hostnames, () =>
      runCommand(() =>
        this.commands.handle<BindArqsResult>(
          {
            commandId: command.commandId,
            type: ConductorCommands.bindArqs,
            payload: { bindings },
            metadata: { ...command.caller },
          },
          async (read) => {
            const state = await loadArqBatch(
              read,
              bindings.map((b) => b.uuid),
              () => streamsOfBind(bindings),
            );
            const decision = decideBindArqs({ bindings, caller, deadline, now: new Date().toISOString() }, state);
            if (decision instanceof DomainError) throw failureOf(decision);
            started = decision.started;
            let failure: BindArqsResult['failure'] = null;
            if (decision.failure) {
              const { status, code, message } = failureOf(decision.failure.error);
              failure = { arqUuid: decision.failure.arqUuid, status, code, message };
            }
            return { appends: appendsOf(decision), result: { states: decision.states, failure } };
          },
        ),
      ),
    );
    if (outcome.duplicate) return { result: outcome.result, checkpoint: outcome.checkpoint };
    // A bind that could not start ended at once in BindFailed (no BindStarted, so no duration).
    if (outcome.result.failure) {
      processMetrics().binds.inc({ outcome: 'failed', reason: outcome.result.failure.code });
    }

    let checkpoint = outcome.checkpoint;
    const jobs = started.map((s) =>
      this.jobs.run(s).then((resolution) => {
        if (resolution?.checkpoint && (!checkpoint || compareCheckpoints(resolution.checkpoint, checkpoint) > 0)) {
          checkpoint = resolution.checkpoint;
        }
        return resolution;
      }),
    );
    // Nova hears of each end from the log (NovaNotifier); a bind abandoned at shutdown is ended by the next sweep.
    await Promise.race([Promise.all(jobs), sleep(this.syncWaitMs)]);
    return { result: outcome.result, checkpoint: checkpoint as Checkpoint | null };
  }

  /** How long the answer waits for agents: instant binds finish well inside it; the API's request must not time out. */
  private get syncWaitMs(): number {
    return Math.min(2000, this.settings.RPC_TIMEOUT_MS / 2, this.settings.BIND_TIMEOUT_MS / 2);
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

@Controller()
export class BindArqsController {
  constructor(private readonly handler: BindArqsHandler) {}

  @MessagePattern(conductorSubject(ConductorCommands.bindArqs))
  bindArqs(@Payload() command: BindArqsCommand): Promise<CommandReply<BindArqsResult>> {
    return this.handler.handle(command);
  }
}
