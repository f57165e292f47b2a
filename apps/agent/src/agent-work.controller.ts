import { Controller, type Type } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  agentSubject,
  AgentWork,
  type PingReply,
  PingWork,
  type ReportInventoryResult,
  ReportNowWork,
} from '@cyborg/contracts';
import { AgentService } from './agent.service';

/**
 * The controller for one host's work subjects. Subjects name the host, so
 * the class is made per host: an agent hears only `cyborg.agent.<its host>.*`.
 */
export function agentWorkController(hostname: string): Type<unknown> {
  @Controller()
  class AgentWorkController {
    constructor(private readonly agent: AgentService) {}

    @MessagePattern(agentSubject(hostname, AgentWork.ping))
    ping(@Payload() _work: PingWork): PingReply {
      return this.agent.ping();
    }

    /** Answers once the conductor has recorded the report. */
    @MessagePattern(agentSubject(hostname, AgentWork.reportNow))
    reportNow(@Payload() _work: ReportNowWork): Promise<ReportInventoryResult> {
      return this.agent.reportNow();
    }
  }
  return AgentWorkController;
}
