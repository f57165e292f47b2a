/**
 * Stand-in for the payload of a message the server could not decode. The
 * deserializer cannot reply itself, so it hands this marker down the normal
 * handler path, where the interceptor/pipe turn it into `invalid_message`.
 */
export class MalformedPayload {
  constructor(readonly reason: string) {}
}

export function isMalformedPayload(value: unknown): value is MalformedPayload {
  return value instanceof MalformedPayload;
}
