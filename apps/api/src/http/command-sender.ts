import { createHash, randomUUID } from 'node:crypto';
import { BadRequestException, Injectable, Logger } from '@nestjs/common';
import type { Request } from 'express';
import { Settings } from '@cyborg/config';
import { type CallerDto, type CommandReply, conductorSubject } from '@cyborg/contracts';
import { RpcClient } from '@cyborg/messaging';
import { Projections } from '@cyborg/projections';
import { callerFrom } from './caller';

const IDEMPOTENCY_KEY = 'Idempotency-Key';
const MAX_COMMAND_ID = 255;

/**
 * Sends a command made from an HTTP request to the conductor, then waits
 * (bounded) until this API's read models show it, so a GET right after the
 * answer sees the write.
 */
@Injectable()
export class CommandSender {
  private readonly logger = new Logger('commands');

  constructor(
    private readonly rpc: RpcClient,
    private readonly projections: Projections,
    private readonly settings: Settings,
  ) {}

  /** `timeoutMs`: for commands that wait on a host (programming); the RPC timeout otherwise. */
  async send<R>(request: Request, command: string, body: object, options: { timeoutMs?: number } = {}): Promise<R> {
    const caller = callerFrom(request);
    const commandId = commandIdFor(request, caller);
    const reply = await this.rpc.request<CommandReply<R>>(
      conductorSubject(command),
      { ...body, commandId, caller },
      options.timeoutMs ? { timeoutMs: options.timeoutMs } : {},
    );
    const caughtUp = await this.projections.waitFor(reply.checkpoint, this.settings.READ_YOUR_WRITES_TIMEOUT_MS);
    if (!caughtUp) {
      // The write is in the log; only the read models are late. Answer anyway.
      this.logger.warn({ msg: 'read models did not reach a write in time', command, commandId });
    }
    return reply.result;
  }
}

/**
 * A retried request with the same Idempotency-Key is the same command: it
 * takes effect once. Keys belong to the caller's project: the command id is
 * derived from both, so another project sending the same key makes its own
 * command and never gets this one's answer (nor learns that it exists).
 */
export function commandIdFor(request: Request, caller: Pick<CallerDto, 'projectId'>): string {
  const key = request.get(IDEMPOTENCY_KEY);
  if (key === undefined) return randomUUID();
  const trimmed = key.trim();
  if (trimmed === '' || trimmed.length > MAX_COMMAND_ID) {
    throw new BadRequestException(`${IDEMPOTENCY_KEY} must be 1 to ${MAX_COMMAND_ID} characters long`);
  }
  const scoped = JSON.stringify([caller.projectId ?? null, trimmed]);
  return `idempotency-key:${createHash('sha256').update(scoped).digest('hex')}`;
}
