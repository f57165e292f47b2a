import { Injectable, Logger } from '@nestjs/common';
import { Settings } from '@cyborg/config';
import type {
  ProgramDeployableWork,
  ProgrammedBitstreamReply,
  ProgrammingRequestDto,
  ProgramWorkReply,
} from '@cyborg/contracts';
import { type BitstreamSource, createBitstreamSource, programDeployable } from '@cyborg/bitstreams';
import { serviceAuthFrom } from '@cyborg/keystone';
import { AgentService } from './agent.service';

/** Answers kept per job id, so a program job asked again is done once. */
const REMEMBERED_JOBS = 1000;

/**
 * Programs deployables with verified bitstreams, one at a time per
 * deployable: during a bind (FPGA as a Service) and on an operator's request.
 */
@Injectable()
export class ProgrammingWorker {
  private readonly logger = new Logger('programming');
  private readonly source: BitstreamSource | null;
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly jobs = new Map<string, Promise<ProgramWorkReply>>();

  constructor(
    private readonly agent: AgentService,
    settings: Settings,
  ) {
    this.source = settings.BITSTREAM_SOURCE
      ? createBitstreamSource(settings.BITSTREAM_SOURCE, (url) =>
          serviceAuthFrom(settings, { serviceType: 'image', url, token: settings.BITSTREAM_AUTH_TOKEN }),
        )
      : null;
  }

  /** The operator's `PATCH /deployables/{uuid}/program`. */
  programJob(work: ProgramDeployableWork): Promise<ProgramWorkReply> {
    const known = this.jobs.get(work.jobId);
    if (known) return known;
    const left = Date.parse(work.deadline) - Date.now();
    const reply =
      left <= 0
        ? Promise.resolve<ProgramWorkReply>({ ok: false, reason: 'the program request was past its deadline' })
        : this.program(work.deployableName, work.driverName, work.program, AbortSignal.timeout(left));
    this.jobs.set(work.jobId, reply);
    if (this.jobs.size > REMEMBERED_JOBS) this.jobs.delete(this.jobs.keys().next().value as string);
    return reply;
  }

  /** Fetches, verifies and programs; a timeout or a refusal is a failure with its reason. */
  program(
    deployableName: string,
    driverName: string,
    request: ProgrammingRequestDto,
    signal: AbortSignal,
  ): Promise<ProgramWorkReply> {
    const previous = this.queues.get(deployableName) ?? Promise.resolve();
    const run = previous.then(async (): Promise<ProgramWorkReply> => {
      const driver = this.agent.driver(driverName);
      if (!driver) {
        return {
          ok: false,
          reason: `driver ${driverName} of deployable ${deployableName} is not loaded on host ${this.agent.hostname}`,
        };
      }
      const started = Date.now();
      try {
        const outcome = await programDeployable(this.source, driver, deployableName, request, signal);
        if (!outcome.ok) {
          this.logger.warn({ msg: 'programming failed', deployable: deployableName, reason: outcome.reason });
          return {
            ok: false,
            reason: `programming deployable ${deployableName} failed: ${outcome.reason}`,
            ...(outcome.problem ? { problem: outcome.problem } : {}),
          };
        }
        const programmed: ProgrammedBitstreamReply = {
          bitstreamId: outcome.image.id,
          functionId: outcome.image.functionId,
          checksum: { ...outcome.image.checksum },
        };
        this.logger.log({
          msg: 'deployable programmed',
          deployable: deployableName,
          ...programmed,
          ms: Date.now() - started,
        });
        return { ok: true, programmed };
      } catch {
        return {
          ok: false,
          problem: 'timeout',
          reason: `programming deployable ${deployableName} did not finish in time (${Date.now() - started} ms); the device may hold a partial image and is reprogrammed by the next request`,
        };
      }
    });
    const settled = run.catch(() => undefined);
    this.queues.set(deployableName, settled);
    void settled.then(() => {
      if (this.queues.get(deployableName) === settled) this.queues.delete(deployableName);
    });
    return run;
  }
}
