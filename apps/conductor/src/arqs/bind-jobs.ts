import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { currentLogContext, retry, Settings } from '@cyborg/config';
import {
  ArqBindStarted,
  type ArqBindStartedV1,
  type CyborgEvent,
  type PrepareAttachHandleWork,
  Streams,
} from '@cyborg/contracts';
import {
  ArqAggregate,
  type BindOutcome,
  decideConfirmBind,
  decideRecordProgramming,
  HostAggregate,
} from '@cyborg/domain';
import { type Checkpoint, CommandHandler, EventStore } from '@cyborg/event-store';
import { bindFailureReason, processMetrics } from '@cyborg/metrics';
import { AgentWorkClient } from './agent-work.client';
import { conductorMetadata } from './arq-streams';

/** How a bind ended, as recorded. */
export interface BindResolution {
  arqUuid: string;
  instanceUuid: string;
  /** Null when the ARQ moved on (unbound, deleted) before its bind ended. */
  state: 'Bound' | 'BindFailed' | null;
  checkpoint: Checkpoint | null;
}

/** Past its deadline by this much, a bind another conductor drives is taken over by the periodic sweep. */
const TAKEOVER_GRACE_MS = 1000;
/** Lets the agent request's own timeout, which says more, end a bind before the watchdog does. */
const WATCHDOG_GRACE_MS = 250;

/**
 * Owns a bind's deadline: chooses it (BIND_TIMEOUT_MS from the bind), and
 * drives started binds to their end by it: asks the host's agent to prepare
 * the handle, then records `Bound` or `BindFailed`, always by the deadline. At
 * start, and then periodically, it sweeps the log for binds left
 * `BindStarted` (a conductor stopped mid-bind): those past their deadline
 * fail; the others are resumed at start, and later once they ran for
 * BIND_TAKEOVER_AFTER_MS (their conductor may be gone), so a dead
 * conductor's binds still end `Bound`. Driving a bind another conductor
 * drives too is harmless: the agent answers a repeated job id with the
 * same work, and a bind's end is a command with a fixed id, recorded once.
 */
@Injectable()
export class BindJobs implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('bind-jobs');
  private readonly running = new Map<string, Promise<BindResolution | null>>();
  private readonly stopping = new AbortController();
  private sweeper: NodeJS.Timeout | null = null;

  constructor(
    private readonly store: EventStore<CyborgEvent>,
    private readonly commands: CommandHandler<CyborgEvent>,
    private readonly agents: AgentWorkClient,
    private readonly settings: Settings,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.sweep(true).catch((error: unknown) =>
      this.logger.error({ msg: 'sweep of unfinished binds failed', error: String(error) }),
    );
    this.sweeper = setInterval(
      () => {
        this.sweep(false).catch((error: unknown) =>
          this.logger.warn({ msg: 'sweep of unfinished binds failed', error: String(error) }),
        );
      },
      sweepIntervalMs(this.settings.BIND_TIMEOUT_MS, this.settings.BIND_TAKEOVER_AFTER_MS),
    );
    this.sweeper.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    // Unfinished binds stay BindStarted in the log; the next sweep (here or elsewhere) ends them.
    this.stopping.abort();
    await Promise.all([...this.running.values()]);
  }

  /** When a bind starting now must have ended (ISO 8601); recorded in its BindStarted. */
  deadlineOfNewBind(): string {
    return new Date(Date.now() + this.settings.BIND_TIMEOUT_MS).toISOString();
  }

  /** Ends a started bind; one run per bind attempt in this process. Null: abandoned at shutdown. */
  run(started: ArqBindStartedV1): Promise<BindResolution | null> {
    const key = jobId(started.uuid, started.attempt);
    const known = this.running.get(key);
    if (known) return known;
    const job = this.drive(started)
      .catch((error: unknown) => {
        // Left BindStarted: the periodic sweep ends it past its deadline.
        this.logger.error({
          msg: 'bind job failed',
          arq: started.uuid,
          attempt: started.attempt,
          error: String(error),
        });
        return null;
      })
      .finally(() => this.running.delete(key));
    this.running.set(key, job);
    return job;
  }

  private async drive(started: ArqBindStartedV1): Promise<BindResolution | null> {
    const signal = this.stopping.signal;
    const deadline = Date.parse(started.deadline);
    let outcome: BindOutcome | null;
    if (Date.now() >= deadline) {
      outcome = {
        ok: false,
        reason: 'The bind did not finish by its deadline: it was left unfinished when its conductor stopped.',
      };
    } else {
      const work: PrepareAttachHandleWork = {
        jobId: jobId(started.uuid, started.attempt),
        arqUuid: started.uuid,
        attempt: started.attempt,
        deadline: started.deadline,
        attachHandle: started.attachHandle,
        ...(started.programming ? { program: { ...started.programming } } : {}),
      };
      // The request has the same limit; this timer ends the bind even if it did not.
      const watch = deadlineWatch(deadline + WATCHDOG_GRACE_MS, signal);
      outcome = await Promise.race([this.agents.prepare(started.hostname, work, signal), watch.promise]);
      watch.cancel();
    }
    if (outcome === null) return null;
    return this.confirm(started, outcome);
  }

  /** Records the end; retried (the database may be away) until it is recorded or the conductor stops. */
  private async confirm(started: ArqBindStartedV1, outcome: BindOutcome): Promise<BindResolution | null> {
    const { uuid, attempt } = started;
    // The end of a bind belongs to the request that started it (absent for a bind resumed after a restart).
    const requestId = currentLogContext()?.requestId;
    const record = () =>
      this.commands.handle<{ state: BindResolution['state'] }>(
        {
          commandId: `confirm_bind:${jobId(uuid, attempt)}`,
          type: 'confirm_bind',
          payload: { uuid, attempt },
          metadata: { ...conductorMetadata(outcome.ok ? undefined : outcome.reason), ...(requestId && { requestId }) },
        },
        async (read) => {
          const arq = await read(ArqAggregate, Streams.arq(uuid));
          const events = decideConfirmBind({ attempt, outcome }, arq.state);
          const appends: { streamId: string; events: CyborgEvent[] }[] = [{ streamId: Streams.arq(uuid), events }];
          // What the agent programmed is true of the device whatever became of the ARQ.
          if (outcome.ok && outcome.programmed) {
            const host = await read(HostAggregate, Streams.host(started.hostname));
            const programmed = decideRecordProgramming(
              {
                hostname: started.hostname,
                deployableUuid: started.attachHandle.deployableUuid,
                programmed: outcome.programmed,
                arqUuid: uuid,
              },
              host.state,
            );
            appends.push({ streamId: Streams.host(started.hostname), events: programmed });
          }
          return { appends, result: { state: events.length === 0 ? null : outcome.ok ? 'Bound' : 'BindFailed' } };
        },
      );
    let recorded;
    try {
      recorded = await retry(record, {
        initialMs: 100,
        maxMs: 5000,
        retryOn: () => true,
        signal: this.stopping.signal,
        onRetry: (error) =>
          this.logger.warn({ msg: 'recording the end of a bind failed, retrying', arq: uuid, error: String(error) }),
      });
    } catch (error) {
      if (this.stopping.signal.aborted) return null;
      throw error;
    }
    if (!recorded.duplicate && recorded.result.state === 'BindFailed' && !outcome.ok) {
      this.logger.warn({ msg: 'bind failed', arq: uuid, attempt, hostname: started.hostname, reason: outcome.reason });
    }
    if (!recorded.duplicate && recorded.result.state) this.measure(started, outcome);
    return {
      arqUuid: uuid,
      instanceUuid: started.instanceUuid,
      state: recorded.result.state,
      checkpoint: recorded.checkpoint,
    };
  }

  /**
   * The bind's time from BindStarted (its deadline less BIND_TIMEOUT_MS, as
   * deadlineOfNewBind chose it) to its end, and how it ended.
   */
  private measure(started: ArqBindStartedV1, outcome: BindOutcome): void {
    const metrics = processMetrics();
    const startedAt = Date.parse(started.deadline) - this.settings.BIND_TIMEOUT_MS;
    const seconds = Math.max(0, (Date.now() - startedAt) / 1000);
    const ended = outcome.ok ? 'bound' : 'failed';
    metrics.bindDuration.observe({ outcome: ended }, seconds);
    metrics.binds.inc({ outcome: ended, reason: outcome.ok ? 'none' : bindFailureReason(outcome.reason) });
  }

  /**
   * Binds left BindStarted, found from the log: streams whose last event is
   * ArqBindStarted. At start every one is resumed (or failed, past its
   * deadline); later those running here are left alone, and the others are
   * taken over once they ran for BIND_TAKEOVER_AFTER_MS or are past their
   * deadline: no live conductor ended them in that time.
   */
  private async sweep(atStart: boolean): Promise<void> {
    const streams = await this.store.streamsEndingWith('arq', ArqBindStarted.type);
    for (const streamId of streams) {
      if (this.stopping.signal.aborted) return;
      const { state } = await this.commands.read(ArqAggregate, streamId);
      const started = state.arq?.state === 'BindStarted' ? state.arq.bind : null;
      if (!started || this.running.has(jobId(started.uuid, started.attempt))) continue;
      const deadline = Date.parse(started.deadline);
      const startedAt = deadline - this.settings.BIND_TIMEOUT_MS;
      const pastDeadline = deadline + TAKEOVER_GRACE_MS <= Date.now();
      const leftLong = Date.now() - startedAt >= this.settings.BIND_TAKEOVER_AFTER_MS;
      if (!atStart && !pastDeadline && !leftLong) continue;
      this.logger.log({
        msg: pastDeadline || atStart ? 'ending a bind left unfinished' : 'taking over a bind another conductor left',
        arq: started.uuid,
        attempt: started.attempt,
        deadline: started.deadline,
      });
      void this.run(started);
    }
  }
}

/** Often enough that a bind left by a dead conductor is taken over within half BIND_TAKEOVER_AFTER_MS more. */
export function sweepIntervalMs(bindTimeoutMs: number, takeoverAfterMs: number): number {
  return Math.max(500, Math.min(bindTimeoutMs, Math.ceil(takeoverAfterMs / 2)));
}

export function jobId(arqUuid: string, attempt: number): string {
  return `${arqUuid}:${attempt}`;
}

function deadlineWatch(
  deadline: number,
  signal: AbortSignal,
): { promise: Promise<BindOutcome | null>; cancel: () => void } {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const promise = new Promise<BindOutcome | null>((resolve) => {
    timer = setTimeout(
      () => resolve({ ok: false, reason: 'The bind did not finish by its deadline.' }),
      Math.max(0, deadline - Date.now()),
    );
    onAbort = () => resolve(null);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  return {
    promise,
    cancel: () => {
      clearTimeout(timer);
      if (onAbort) signal.removeEventListener('abort', onAbort);
    },
  };
}
