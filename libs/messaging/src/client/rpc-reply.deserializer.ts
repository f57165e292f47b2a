import { IncomingResponseDeserializer, type IncomingResponse } from '@nestjs/microservices';
import { RpcFailure } from '../rpc-error';

interface NatsReplyMessage {
  data: Uint8Array;
}

/**
 * Client-side replacement for Nest's `NatsResponseJSONDeserializer`, which
 * throws inside the inbox callback on a non-JSON reply: that rejection is
 * unhandled (it can take the process down) and the request hangs until its
 * timeout. Here a bad reply fails the request with `bad_reply` 502.
 */
export class RpcReplyDeserializer extends IncomingResponseDeserializer {
  override deserialize(message: NatsReplyMessage): IncomingResponse {
    let body: unknown;
    try {
      body = JSON.parse(new TextDecoder().decode(message.data)) as unknown;
    } catch {
      // An empty id passes Nest's "is this my reply" check.
      return { id: '', err: RpcFailure.badReply('reply is not valid JSON').toRpcError(), isDisposed: true };
    }
    // Nest's envelope detection: foreign replies become `{ response: body }`.
    return super.deserialize(body) as IncomingResponse;
  }
}
