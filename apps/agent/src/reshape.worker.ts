import { Injectable, Logger } from '@nestjs/common';
import type { ReshapeDeviceWork, ReshapeWorkReply } from '@cyborg/contracts';
import { canReshape } from '@cyborg/drivers';
import { AgentService } from './agent.service';

/** Answers kept per job id, so a reshape asked again is done once. */
const REMEMBERED_JOBS = 1000;

/**
 * Applies an admin's device reshape through the driver that reported the
 * device, then reports the inventory, so the conductor (and Placement)
 * see the new shape before the answer. The conductor asks only while
 * nothing on the device is bound.
 */
@Injectable()
export class ReshapeWorker {
  private readonly logger = new Logger('reshape');
  private readonly jobs = new Map<string, Promise<ReshapeWorkReply>>();

  constructor(private readonly agent: AgentService) {}

  reshape(work: ReshapeDeviceWork): Promise<ReshapeWorkReply> {
    const known = this.jobs.get(work.jobId);
    if (known) return known;
    const reply = this.apply(work);
    this.jobs.set(work.jobId, reply);
    if (this.jobs.size > REMEMBERED_JOBS) this.jobs.delete(this.jobs.keys().next().value as string);
    return reply;
  }

  private async apply(work: ReshapeDeviceWork): Promise<ReshapeWorkReply> {
    // After the shapes the log kept are back in the drivers, so this one is not undone by them.
    await this.agent.registered();
    const left = Date.parse(work.deadline) - Date.now();
    if (left <= 0) return { ok: false, reasons: ['the reshape request was past its deadline'] };
    const driver = this.agent.driver(work.driverName);
    if (!driver) return { ok: false, reasons: [`driver ${work.driverName} is not loaded on this host`] };
    if (!canReshape(driver)) return { ok: false, reasons: [`the ${driver.name} driver cannot reshape devices`] };
    try {
      const result = await driver.reshape({ controlPathId: work.controlPathId }, work.spec, {
        signal: AbortSignal.timeout(left),
      });
      if (!result.ok) {
        this.logger.warn({ msg: 'reshape refused by the driver', job: work.jobId, reasons: result.reasons });
        return result;
      }
      await this.agent.reportNow();
      this.logger.log({ msg: 'device reshaped', job: work.jobId, spec: work.spec });
      return { ok: true };
    } catch (error) {
      return { ok: false, reasons: [(error as Error).message] };
    }
  }
}
