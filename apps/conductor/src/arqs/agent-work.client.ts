import { Injectable, Logger } from '@nestjs/common';
import { Backoff } from '@cyborg/config';
import {
  agentSubject,
  AgentWork,
  type AttachHandleWorkReply,
  type PrepareAttachHandleWork,
  type ReleaseAttachHandleWork,
} from '@cyborg/contracts';
import type { BindOutcome } from '@cyborg/domain';
import { RpcClient, RpcFailure } from '@cyborg/messaging';

/** Waits between tries while no agent listens on the host's subject (an agent restarting). */
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 2000;
/**
 * An unanswered request is asked again this often: an agent that died with
 * the request in hand and came back has lost it, while a live agent still
 * working on it answers both from the one job.
 */
const ASK_AGAIN_MS = 5000;

/** The conductor's side of a host's bind work: asks, and always comes back by the deadline. */
@Injectable()
export class AgentWorkClient {
  private readonly logger = new Logger('agent-work');
  /** Per host, what wakes the binds waiting on its agent when it registers again. */
  private readonly comebacks = new Map<string, { promise: Promise<void>; resolve: () => void }>();

  constructor(private readonly rpc: RpcClient) {}

  /**
   * The host's agent (re)registered with this conductor: binds waiting on it
   * ask again at once rather than at their next try; a restarted agent has
   * lost the requests it held.
   */
  agentRegistered(hostname: string): void {
    const comeback = this.comebacks.get(hostname);
    if (!comeback) return;
    this.comebacks.delete(hostname);
    comeback.resolve();
  }

  private comeback(hostname: string): Promise<void> {
    let comeback = this.comebacks.get(hostname);
    if (!comeback) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      comeback = { promise, resolve };
      this.comebacks.set(hostname, comeback);
    }
    return comeback.promise;
  }

  /**
   * Asks the host's agent to prepare the handle, again while nobody answers
   * or every ASK_AGAIN_MS while the answer is slow (the job id makes a repeat
   * harmless), until the deadline. Resolves `null` only when `signal` aborts
   * (the conductor stopping).
   */
  async prepare(hostname: string, work: PrepareAttachHandleWork, signal: AbortSignal): Promise<BindOutcome | null> {
    const deadline = Date.parse(work.deadline);
    const subject = agentSubject(hostname, AgentWork.bind);
    let lastProblem = 'no agent answered';
    const backoff = new Backoff({ initialMs: RETRY_MIN_MS, maxMs: RETRY_MAX_MS });
    for (;;) {
      if (signal.aborted) return null;
      const left = deadline - Date.now();
      if (left <= 0) return { ok: false, reason: `The bind did not finish by its deadline: ${lastProblem}.` };
      const comeback = this.comeback(hostname).then(() => 'again' as const);
      try {
        const reply = await Promise.race([
          this.rpc.request<AttachHandleWorkReply>(subject, work, { timeoutMs: Math.min(left, ASK_AGAIN_MS) }),
          comeback,
        ]);
        if (signal.aborted) return null;
        if (reply === 'again') {
          lastProblem = `the agent of host ${hostname} restarted`;
          backoff.reset();
          continue;
        }
        if (reply.ok) return reply;
        return {
          ok: false,
          reason: `The agent of host ${hostname} could not prepare attach handle ${work.attachHandle.uuid}: ${reply.reason}`,
        };
      } catch (error) {
        if (signal.aborted) return null;
        const failure = error instanceof RpcFailure ? error : RpcFailure.internal(String(error));
        if (failure.code === 'timeout') {
          lastProblem = `the agent of host ${hostname} did not answer`;
          continue;
        }
        if (failure.status !== 503) {
          return { ok: false, reason: `The agent of host ${hostname} refused the bind: ${failure.message}` };
        }
        lastProblem = `no agent of host ${hostname} answered (${failure.message})`;
        await Promise.race([backoff.wait(signal, deadline - Date.now()), comeback]);
      }
    }
  }

  /** Best effort: the handle is already free in the log; this only tidies the host (removes an mdev). */
  release(hostname: string, work: ReleaseAttachHandleWork): void {
    this.rpc
      .request<AttachHandleWorkReply>(agentSubject(hostname, AgentWork.unbind), work)
      .then((reply) => {
        if (!reply.ok)
          this.logger.warn({
            msg: 'agent could not release an attach handle',
            hostname,
            arq: work.arqUuid,
            reason: reply.reason,
          });
      })
      .catch((error: unknown) =>
        this.logger.warn({
          msg: 'attach handle release not confirmed by the agent',
          hostname,
          arq: work.arqUuid,
          error: String(error),
        }),
      );
  }
}
