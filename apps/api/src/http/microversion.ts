import {
  type CallHandler,
  createParamDecorator,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
  NotAcceptableException,
  UseInterceptors,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import type { Observable } from 'rxjs';

/** An accelerator API microversion, `2.<minor>`. */
export class Microversion {
  constructor(
    readonly major: number,
    readonly minor: number,
  ) {}

  /** True when this is at least `2.<minor>`. */
  atLeast(minor: number): boolean {
    return this.minor >= minor;
  }

  toString(): string {
    return `${this.major}.${this.minor}`;
  }
}

export const MIN_MICROVERSION = new Microversion(2, 0);
export const MAX_MICROVERSION = new Microversion(2, 4);
/** 2.4: devices show `health` and `health_reasons`, ARQs their device's; device health release and reshape. */
export const HEALTH_MICROVERSION = 4;
const RANGE = `[${MIN_MICROVERSION}, ${MAX_MICROVERSION}]`;
const HEADER = 'OpenStack-API-Version';

export interface MicroversionRefusal {
  message: string;
  /** Cyborg sends the min/max headers with range errors, not with unparsable values. */
  withRange: boolean;
}

/**
 * Reads `OpenStack-API-Version` as Cyborg master does (§2.2): the
 * `accelerator X.Y` entry, else the bare value; `latest` is the maximum;
 * no header is the minimum.
 */
export function readMicroversion(header: string | undefined): Microversion | MicroversionRefusal {
  const raw = header?.trim();
  if (!raw) return MIN_MICROVERSION;
  let requested = raw;
  for (const entry of raw.split(',')) {
    const tokens = entry.trim().split(/\s+/);
    if (tokens.length === 2 && tokens[0].toLowerCase() === 'accelerator') {
      requested = tokens[1];
      break;
    }
  }
  if (requested.toLowerCase() === 'latest') return MAX_MICROVERSION;
  const match = /^(\d+)\.(\d+)$/.exec(requested);
  if (!match) return { message: `Invalid value for ${HEADER} header`, withRange: false };
  const version = new Microversion(Number(match[1]), Number(match[2]));
  if (version.major !== MAX_MICROVERSION.major) {
    return {
      message:
        `Mutually exclusive versions requested. Version ${version} requested but not supported by this service. ` +
        `The supported version range is: ${RANGE}.`,
      withRange: true,
    };
  }
  if (version.minor < MIN_MICROVERSION.minor || version.minor > MAX_MICROVERSION.minor) {
    return {
      message:
        `Version ${version} was requested but the minor version is not supported by this service. ` +
        `The supported version range is: ${RANGE}.`,
      withRange: true,
    };
  }
  return version;
}

type VersionedRequest = Request & { microversion?: Microversion };

/** Reads the microversion of a /v2 request and answers with Cyborg's version headers (§2.3). */
@Injectable()
export class MicroversionInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<VersionedRequest>();
    const response = context.switchToHttp().getResponse<Response>();
    const read = readMicroversion(request.get(HEADER));
    if (!(read instanceof Microversion)) {
      if (read.withRange) setRangeHeaders(response);
      throw new NotAcceptableException(read.message);
    }
    setRangeHeaders(response);
    response.setHeader(HEADER, `accelerator ${read}`);
    request.microversion = read;
    return next.handle();
  }
}

function setRangeHeaders(response: Response): void {
  response.setHeader('OpenStack-API-Minimum-Version', String(MIN_MICROVERSION));
  response.setHeader('OpenStack-API-Maximum-Version', String(MAX_MICROVERSION));
  response.setHeader('Vary', HEADER);
}

/** Marks a controller as versioned: every route reads the header and sets the version headers. */
export const Versioned = () => UseInterceptors(MicroversionInterceptor);

/** The request's microversion (controller must be @Versioned()). */
export const RequestedMicroversion = createParamDecorator(
  (_data: unknown, context: ExecutionContext): Microversion =>
    context.switchToHttp().getRequest<VersionedRequest>().microversion ?? MIN_MICROVERSION,
);

/** Refuses a feature newer than the request's microversion, in Cyborg's words (§2.4). */
export function requireMicroversion(version: Microversion, minor: number): void {
  if (!version.atLeast(minor)) {
    throw new NotAcceptableException(
      `Request not acceptable. The minimal required API version should be ${MAX_MICROVERSION.major}.${minor}`,
    );
  }
}
