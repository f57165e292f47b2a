import { randomUUID } from 'node:crypto';
import type { ConsumerDeserializer, IncomingEvent, IncomingRequest } from '@nestjs/microservices';
import { MalformedPayload } from './malformed-payload';

/** The parts of a NATS `Msg` this deserializer reads. */
export interface NatsInboundMessage {
  data: Uint8Array;
  reply?: string;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

function readOptions(options: Record<string, unknown> | undefined): { channel: string; replyTo?: string } {
  const channel = typeof options?.channel === 'string' ? options.channel : '';
  const replyTo = typeof options?.replyTo === 'string' && options.replyTo !== '' ? options.replyTo : undefined;
  return { channel, replyTo };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Server-side replacement for Nest's `NatsRequestJSONDeserializer`.
 *
 * Nest's version throws on bytes that are not JSON (the message is only
 * logged and the sender waits for its timeout), and treats a message without
 * an `id` as an event even when the sender waits on a reply inbox. This one
 * never throws: undecodable bytes become a `MalformedPayload` marker, and any
 * message with a reply subject is handled as a request so the sender always
 * gets an answer.
 */
export class RpcRequestDeserializer implements ConsumerDeserializer {
  deserialize(message: NatsInboundMessage, options?: Record<string, unknown>): IncomingRequest | IncomingEvent {
    const { channel, replyTo } = readOptions(options);
    // Reply ids of foreign senders are never checked; Nest clients send their own.
    const fallbackId = replyTo ? randomUUID() : undefined;
    const body = this.decode(message.data);

    if (body instanceof MalformedPayload) {
      return this.packet(channel, body, fallbackId);
    }
    // Same envelope rule as Nest: an object with `pattern` or `data` is a Nest packet.
    if (isPlainObject(body) && (body.pattern !== undefined || body.data !== undefined)) {
      const id = typeof body.id === 'string' && body.id !== '' ? body.id : fallbackId;
      return this.packet(channel, body.data, id);
    }
    // Anything else is a bare payload from a non-Nest sender.
    return this.packet(channel, body, fallbackId);
  }

  private decode(bytes: Uint8Array | undefined): unknown {
    if (!bytes || bytes.length === 0) {
      return undefined;
    }
    let text: string;
    try {
      text = decoder.decode(bytes);
    } catch {
      return new MalformedPayload('message body is not valid UTF-8');
    }
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return new MalformedPayload('message body is not valid JSON');
    }
  }

  private packet(channel: string, data: unknown, id: string | undefined): IncomingRequest | IncomingEvent {
    // The route always comes from the subscription, never from the sender's `pattern`.
    return id === undefined ? { pattern: channel, data } : { id, pattern: channel, data };
  }
}
