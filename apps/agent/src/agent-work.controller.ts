import { Controller, type Type } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  agentSubject,
  AgentWork,
  type AttachHandleWorkReply,
  type PingReply,
  PingWork,
  PrepareAttachHandleWork,
  ProgramDeployableWork,
  type ProgramWorkReply,
  ReleaseAttachHandleWork,
  type ReportInventoryResult,
  ReportNowWork,
  ReshapeDeviceWork,
  type ReshapeWorkReply,
} from '@cyborg/contracts';
import { AgentService } from './agent.service';
import { AttachHandleWorker } from './attach-handle.worker';
import { ProgrammingWorker } from './programming.worker';
import { ReshapeWorker } from './reshape.worker';

/**
 * The controller for one host's work subjects. Subjects name the host, so
 * the class is made per host: an agent hears only `cyborg.agent.<its host>.*`.
 */
export function agentWorkController(hostname: string): Type<unknown> {
  @Controller()
  class AgentWorkController {
    constructor(
      private readonly agent: AgentService,
      private readonly attachHandles: AttachHandleWorker,
      private readonly programming: ProgrammingWorker,
      private readonly reshapes: ReshapeWorker,
    ) {}

    @MessagePattern(agentSubject(hostname, AgentWork.ping))
    ping(@Payload() _work: PingWork): PingReply {
      return this.agent.ping();
    }

    /** Answers once the conductor has recorded the report. */
    @MessagePattern(agentSubject(hostname, AgentWork.reportNow))
    reportNow(@Payload() _work: ReportNowWork): Promise<ReportInventoryResult> {
      return this.agent.reportNow();
    }

    /** Answers once the handle is ready for a guest, or why it cannot be. */
    @MessagePattern(agentSubject(hostname, AgentWork.bind))
    bind(@Payload() work: PrepareAttachHandleWork): Promise<AttachHandleWorkReply> {
      return this.attachHandles.prepare(work);
    }

    @MessagePattern(agentSubject(hostname, AgentWork.unbind))
    unbind(@Payload() work: ReleaseAttachHandleWork): Promise<AttachHandleWorkReply> {
      return this.attachHandles.release(work);
    }

    /** Answers once the deployable carries the verified bitstream, or why it does not. */
    @MessagePattern(agentSubject(hostname, AgentWork.program))
    program(@Payload() work: ProgramDeployableWork): Promise<ProgramWorkReply> {
      return this.programming.programJob(work);
    }

    /** Answers once the device is reshaped and the new inventory reported, or why not. */
    @MessagePattern(agentSubject(hostname, AgentWork.reshape))
    reshape(@Payload() work: ReshapeDeviceWork): Promise<ReshapeWorkReply> {
      return this.reshapes.reshape(work);
    }
  }
  return AgentWorkController;
}
