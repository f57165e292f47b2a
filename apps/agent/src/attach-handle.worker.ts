import { Injectable, Logger } from '@nestjs/common';
import type {
  AttachHandleDto,
  AttachHandleWorkReply,
  PrepareAttachHandleWork,
  ProgrammedBitstreamReply,
  ReleaseAttachHandleWork,
} from '@cyborg/contracts';
import type { AttachHandleTarget } from '@cyborg/drivers';
import { AgentService } from './agent.service';
import { ProgrammingWorker } from './programming.worker';

/** Answers kept per job id, so a job asked again (the conductor retrying) is done once. */
const REMEMBERED_JOBS = 10_000;

/**
 * The host side of binding: prepares an allocated attach handle with the
 * driver that reported its device (creates its mdev; a PCI handle needs
 * nothing), and undoes that after release. Work on one handle runs in the
 * order it arrives, so a release never overtakes the prepare before it.
 *
 * A release undoes only what the releasing ARQ holds: once another ARQ has
 * prepared the same handle (a vendor-VFIO VF keeps its address and an mdev
 * its handle uuid from one ARQ to the next), a late or repeated release of
 * the earlier ARQ, or of an earlier bind of the same ARQ (job
 * `<uuid>:<attempt>:release`), leaves the handle as the later bind has it.
 * Who holds what is taken from the log when the agent registers (work
 * waits for that), so a restart forgets none of it.
 */
@Injectable()
export class AttachHandleWorker {
  private readonly logger = new Logger('attach-handles');
  private readonly jobs = new Map<string, Promise<AttachHandleWorkReply>>();
  private readonly queues = new Map<string, Promise<unknown>>();
  /**
   * The ARQ and bind attempt that hold each attach handle, by handle uuid: the log's at start,
   * then set by prepares, cleared by releases. The attempt is unknown for allocations logged
   * before it was recorded.
   */
  private readonly holders = new Map<string, { arqUuid: string; attempt: number | null }>();
  /** Settles once the holders the log named at registration are in. */
  private readonly started: Promise<void>;

  constructor(
    private readonly agent: AgentService,
    private readonly programming: ProgrammingWorker,
  ) {
    this.started = agent.registered().then((held) => {
      for (const h of held) this.holders.set(h.uuid, { arqUuid: h.arqUuid, attempt: h.attempt ?? null });
    });
  }

  prepare(work: PrepareAttachHandleWork): Promise<AttachHandleWorkReply> {
    return this.once(work.jobId, work.attachHandle, async () => {
      const driver = this.agent.driver(work.attachHandle.driverName);
      if (!driver) return this.noDriver(work.attachHandle);
      const left = Date.parse(work.deadline) - Date.now();
      if (left <= 0) return { ok: false, reason: 'the bind was past its deadline when the agent got to it' };
      const signal = AbortSignal.timeout(left);
      // The function goes on the device before the handle is handed out.
      let programmed: ProgrammedBitstreamReply | undefined;
      if (work.program) {
        const { deployableName, driverName } = work.attachHandle;
        const reply = await this.programming.program(deployableName, driverName, work.program, signal);
        if (!reply.ok) return reply;
        programmed = reply.programmed;
      }
      await driver.prepareAttachHandle?.(target(work.attachHandle), { signal });
      this.holders.set(work.attachHandle.uuid, { arqUuid: work.arqUuid, attempt: work.attempt });
      return programmed ? { ok: true, programmed } : { ok: true };
    });
  }

  release(work: ReleaseAttachHandleWork): Promise<AttachHandleWorkReply> {
    return this.once(work.jobId, work.attachHandle, async () => {
      const driver = this.agent.driver(work.attachHandle.driverName);
      if (!driver) return this.noDriver(work.attachHandle);
      const holder = this.holders.get(work.attachHandle.uuid);
      if (holder !== undefined && !releases(work, holder)) {
        this.logger.log({
          msg: 'release left alone: another ARQ or a later bind holds the handle now',
          jobId: work.jobId,
          handle: work.attachHandle.uuid,
          heldBy: holder.arqUuid,
          heldByAttempt: holder.attempt,
        });
        return { ok: true };
      }
      await driver.releaseAttachHandle?.(target(work.attachHandle));
      this.holders.delete(work.attachHandle.uuid);
      return { ok: true };
    });
  }

  private once(
    jobId: string,
    handle: AttachHandleDto,
    work: () => Promise<AttachHandleWorkReply>,
  ): Promise<AttachHandleWorkReply> {
    const known = this.jobs.get(jobId);
    if (known) return known;
    const previous = this.queues.get(handle.uuid) ?? this.started;
    const reply = previous.then(work).catch((error: unknown): AttachHandleWorkReply => {
      const reason = error instanceof Error ? error.message : String(error);
      this.logger.warn({ msg: 'attach handle work failed', jobId, handle: handle.uuid, reason });
      return { ok: false, reason };
    });
    this.queues.set(handle.uuid, reply);
    void reply.then(() => {
      if (this.queues.get(handle.uuid) === reply) this.queues.delete(handle.uuid);
    });
    this.jobs.set(jobId, reply);
    if (this.jobs.size > REMEMBERED_JOBS) {
      const oldest = this.jobs.keys().next();
      if (!oldest.done) this.jobs.delete(oldest.value);
    }
    return reply;
  }

  private noDriver(handle: AttachHandleDto): AttachHandleWorkReply {
    return {
      ok: false,
      reason: `driver ${handle.driverName} of deployable ${handle.deployableName} is not loaded on host ${this.agent.hostname}`,
    };
  }
}

/** A release undoes the holder's prepare: same ARQ, and the same bind attempt where both name one. */
function releases(work: ReleaseAttachHandleWork, holder: { arqUuid: string; attempt: number | null }): boolean {
  if (holder.arqUuid !== work.arqUuid) return false;
  return work.attempt === undefined || holder.attempt === null || holder.attempt === work.attempt;
}

function target(handle: AttachHandleDto): AttachHandleTarget {
  return {
    uuid: handle.uuid,
    deployableName: handle.deployableName,
    handle: { type: handle.type, info: handle.info, inUse: false },
  };
}
