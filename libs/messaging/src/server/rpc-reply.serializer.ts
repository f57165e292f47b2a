import { Logger } from '@nestjs/common';
import type { ConsumerSerializer, OutgoingResponse } from '@nestjs/microservices';
import { RpcFailure } from '../rpc-error';

export interface SerializedNatsReply {
  data: string;
  headers?: undefined;
}

/**
 * Reply serializer for the NATS server. Same bytes as Nest's
 * `NatsRecordSerializer` for replies (plain JSON of the packet), but a reply
 * JSON cannot encode (BigInt, cycles) becomes an `internal` error reply;
 * Nest's would throw, log, and leave the caller waiting for its timeout.
 */
export class RpcReplySerializer implements ConsumerSerializer {
  private readonly logger = new Logger(RpcReplySerializer.name);

  serialize(packet: OutgoingResponse): SerializedNatsReply {
    try {
      return { data: JSON.stringify(packet) };
    } catch (err) {
      this.logger.error(`reply ${packet.id} could not be serialized: ${String(err)}`);
      const failure = RpcFailure.internal('reply could not be serialized');
      return { data: JSON.stringify({ id: packet.id, err: failure.toRpcError(), isDisposed: true }) };
    }
  }
}
