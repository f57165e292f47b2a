import { randomUUID } from 'node:crypto';
import { BadRequestException, Injectable, Logger } from '@nestjs/common';
import type { Request } from 'express';
import { Settings } from '@cyborg/config';
import { type CommandReply, conductorSubject } from '@cyborg/contracts';
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
    const commandId = commandIdFor(request);
    const reply = await this.rpc.request<CommandReply<R>>(
      conductorSubject(command),
      { ...body, commandId, caller: callerFrom(request) },
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

/** A retried request with the same Idempotency-Key is the same command: it takes effect once. */
function commandIdFor(request: Request): string {
  const key = request.get(IDEMPOTENCY_KEY);
  if (key === undefined) return randomUUID();
  const trimmed = key.trim();
  if (trimmed === '' || trimmed.length > MAX_COMMAND_ID) {
    throw new BadRequestException(`${IDEMPOTENCY_KEY} must be 1 to ${MAX_COMMAND_ID} characters long`);
  }
  return trimmed;
}
