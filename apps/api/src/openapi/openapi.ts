import { Controller, Get, Injectable, type INestApplication } from '@nestjs/common';
import { DocumentBuilder, type OpenAPIObject, type SchemaObject, SwaggerModule } from '@nestjs/swagger';
import { MAX_MICROVERSION } from '../http/microversion';
import {
  ArqBody,
  AuditEventBody,
  DeployableBody,
  DeviceBody,
  DeviceProfileBody,
  ErrorBody,
  HealthBody,
  list,
  LiveBody,
  V2Body,
  VersionsBody,
} from './schemas';

/** The success bodies of the main endpoints, by `METHOD /path` as the document names the path. */
const RESPONSE_BODIES: Record<string, SchemaObject> = {
  'GET /': VersionsBody,
  'GET /v2': V2Body,
  'GET /healthz': HealthBody,
  'GET /healthz/ready': HealthBody,
  'GET /healthz/live': LiveBody,
  'GET /v2/accelerator_requests': list('arqs', ArqBody),
  'GET /v2/accelerator_requests/{uuid}': ArqBody,
  'POST /v2/accelerator_requests': list('arqs', ArqBody),
  'GET /v2/device_profiles': list('device_profiles', DeviceProfileBody),
  'GET /v2/device_profiles/{uuidOrName}': {
    type: 'object',
    required: ['device_profile'],
    properties: { device_profile: DeviceProfileBody },
  },
  'GET /v2/devices': list('devices', DeviceBody),
  'GET /v2/devices/{uuid}': DeviceBody,
  'GET /v2/deployables': list('deployables', DeployableBody),
  'GET /v2/deployables/{uuid}': DeployableBody,
  'GET /v2/events': list('events', AuditEventBody),
};

/**
 * The OpenAPI 3 document of the API, from Nest's route metadata (every
 * controller's paths, methods, parameters and status codes) with the bodies
 * of the main endpoints and Cyborg's error shape on every operation.
 */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('cyborg-ts')
    .setDescription(
      'An OpenStack Cyborg v2 compatible accelerator API (microversions 2.0 to ' +
        `${MAX_MICROVERSION.toString()}, header \`OpenStack-API-Version: accelerator 2.x\`), plus this ` +
        "project's own: the event log, history, usage, placement sync status, health and metrics.",
    )
    .setVersion(MAX_MICROVERSION.toString())
    .build();
  const document = SwaggerModule.createDocument(app, config, {
    operationIdFactory: (controller, method) => `${controller.replace(/Controller$/, '')}_${method}`,
  });
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of ['get', 'post', 'put', 'patch', 'delete'] as const) {
      const operation = item[method];
      if (!operation) continue;
      const body = RESPONSE_BODIES[`${method.toUpperCase()} ${path}`];
      const success = Object.keys(operation.responses).find((status) => status.startsWith('2')) ?? '200';
      if (body) {
        const known = operation.responses[success] as { description?: string } | undefined;
        operation.responses[success] = {
          description: known?.description || 'Success',
          content: { 'application/json': { schema: body } },
        };
      }
      operation.responses.default = {
        description: "An error in Cyborg's shape",
        content: { 'application/json': { schema: ErrorBody } },
      };
    }
  }
  return document;
}

/** Holds the document built at start, for the controller that serves it. */
@Injectable()
export class OpenApiDocument {
  document: OpenAPIObject | null = null;
}

@Controller()
export class OpenApiController {
  constructor(private readonly holder: OpenApiDocument) {}

  /** This document. */
  @Get('openapi.json')
  openapi(): OpenAPIObject | Record<string, never> {
    return this.holder.document ?? {};
  }
}
