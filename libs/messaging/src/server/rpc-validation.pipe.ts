import { Injectable, type ArgumentMetadata, type PipeTransform, type Type } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validate, type ValidationError } from 'class-validator';
import { RpcFailure } from '../rpc-error';
import { unstorableTextAt } from '../storable-text';
import { isMalformedPayload } from './malformed-payload';

export interface FieldViolation {
  field: string;
  errors: string[];
}

const UNVALIDATED_TYPES: ReadonlySet<unknown> = new Set([String, Boolean, Number, Array, Object, Function]);

/** Depth-first list of failing properties with their dotted path. */
export function flattenValidationErrors(errors: ValidationError[], parent = ''): FieldViolation[] {
  const out: FieldViolation[] = [];
  for (const error of errors) {
    const field = parent ? `${parent}.${error.property}` : error.property || '(payload)';
    const messages = Object.values(error.constraints ?? {});
    if (messages.length > 0) {
      out.push({ field, errors: messages });
    }
    if (error.children && error.children.length > 0) {
      out.push(...flattenValidationErrors(error.children, field));
    }
  }
  return out;
}

function describe(violations: FieldViolation[]): string {
  const parts = violations.map((v) => `${v.field}: ${v.errors.join(', ')}`);
  return `invalid message: ${parts.join('; ')}`;
}

function isDtoClass(metatype: Type<unknown> | undefined): metatype is Type<object> {
  return typeof metatype === 'function' && !UNVALIDATED_TYPES.has(metatype);
}

/**
 * Validates RPC payloads against their DTO class (whitelist,
 * forbidNonWhitelisted, transform). Every failure is an `invalid_message` 400
 * naming the offending fields, so a bad message is answered, never thrown raw.
 */
@Injectable()
export class RpcValidationPipe implements PipeTransform<unknown, Promise<unknown>> {
  async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (isMalformedPayload(value)) {
      throw RpcFailure.invalid(`invalid message: ${value.reason}`);
    }
    // Nest reports @Payload() as 'body' and @Ctx() as 'custom'; only payloads are ours.
    if (metadata.type !== 'body' || !isDtoClass(metadata.metatype)) {
      return value;
    }
    return validateMessage(metadata.metatype, value, metadata.data);
  }
}

/**
 * A payload as the DTO `metatype` (whitelist, forbidNonWhitelisted,
 * transform), or an `invalid_message` RpcFailure naming the offending fields:
 * what the pipe does, for handlers that validate a part of a message first.
 */
export async function validateMessage<T extends object>(
  metatype: Type<T>,
  value: unknown,
  field = '(payload)',
): Promise<T> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw RpcFailure.invalid('invalid message: payload must be a JSON object', {
      details: { fields: [{ field, errors: ['must be a JSON object'] }] },
    });
  }
  const unstorable = unstorableTextAt(value);
  if (unstorable !== null) {
    const errors = ['must not hold NUL or an unpaired UTF-16 surrogate'];
    throw RpcFailure.invalid(`invalid message: ${unstorable}: ${errors[0]}`, {
      details: { fields: [{ field: unstorable, errors }] },
    });
  }
  const instance = plainToInstance(metatype, value);
  const errors = await validate(instance, {
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
  });
  if (errors.length > 0) {
    const fields = flattenValidationErrors(errors);
    throw RpcFailure.invalid(describe(fields), { details: { fields } });
  }
  return instance;
}
