import { Controller, Get, Injectable, type INestApplication } from '@nestjs/common';
import { DocumentBuilder, type OpenAPIObject, type SchemaObject, SwaggerModule } from '@nestjs/swagger';
import { MAX_MICROVERSION } from '../http/microversion';
import {
  ArqBody,
  AttributeBody,
  AuditEventBody,
  BindMetricsBody,
  BindsBody,
  ConsoleSessionBody,
  DeployableBody,
  DeviceBody,
  DeviceProfileBody,
  ErrorBody,
  EventStreamBody,
  HealthBody,
  HistoryBody,
  HostBody,
  HostDetailBody,
  HostSyncBody,
  list,
  LiveBody,
  LogReadersBody,
  OpenApiBody,
  ReshapeBody,
  StateAtBody,
  UsageBody,
  V2Body,
  VersionsBody,
} from './schemas';

/**
 * The success bodies of every endpoint, by `METHOD /path` as the document
 * names the path (the unversioned aliases of the v2 paths take the same);
 * null for an answer with no body.
 */
const RESPONSE_BODIES: Record<string, SchemaObject | null> = {
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
  'GET /v2/accelerator_requests/{uuid}/history': HistoryBody,
  'GET /v2/devices/{uuid}/history': HistoryBody,
  'GET /v2/hosts/{hostname}/history': HistoryBody,
  'GET /v2/accelerator_requests/{uuid}/state_at': StateAtBody,
  'GET /v2/devices/{uuid}/state_at': StateAtBody,
  'GET /v2/hosts/{hostname}/state_at': StateAtBody,
  'GET /v2/usage': UsageBody,
  'GET /v2/binds': BindsBody,
  'GET /v2/hosts': list('hosts', HostBody),
  'GET /v2/hosts/{hostname}': HostDetailBody,
  'GET /v2/placement_sync': list('hosts', HostSyncBody),
  'GET /v2/placement_sync/{hostname}': HostSyncBody,
  'GET /v2/log_readers': LogReadersBody,
  'GET /v2/bind_metrics': BindMetricsBody,
  'GET /v2/attributes': list('attributes', AttributeBody),
  'GET /v2/attributes/{uuid}': AttributeBody,
  'POST /v2/attributes': AttributeBody,
  'POST /v2/device_profiles': list('device_profiles', DeviceProfileBody),
  'PATCH /v2/accelerator_requests': null,
  'PATCH /v2/accelerator_requests/{uuid}': null,
  'PATCH /v2/deployables/{uuid}/program': DeployableBody,
  'PATCH /v2/deployables/{uuid}/program/{again}': DeployableBody,
  'POST /v2/devices/{uuid}/disable': null,
  'POST /v2/devices/{uuid}/enable': null,
  'POST /v2/devices/{uuid}/health/release': null,
  'POST /v2/devices/{uuid}/reshape': ReshapeBody,
  'GET /openapi.json': OpenApiBody,
  'GET /console/session': ConsoleSessionBody,
  'POST /console/session': ConsoleSessionBody,
};

/** Operations whose success status depends on the outcome (Nest would name only its default). */
const SUCCESS_STATUSES: Record<string, string[]> = {
  // Applied at once (200), or waiting for the device's ARQs to let go (202).
  'POST /v2/devices/{uuid}/reshape': ['200', '202'],
};

/** Answers that are not JSON, by `METHOD /path`: their media type and body. */
const OTHER_BODIES: Record<string, { type: string; schema: SchemaObject }> = {
  'GET /v2/events/stream': { type: 'text/event-stream', schema: EventStreamBody },
  'GET /metrics': {
    type: 'text/plain',
    schema: { type: 'string', description: 'Prometheus text exposition format 0.0.4' },
  },
};

/**
 * The OpenAPI 3 document of the API, from Nest's route metadata (every
 * controller's paths, methods, parameters and status codes) with every
 * endpoint's body and Cyborg's error shape on every operation.
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
      const key = `${method.toUpperCase()} ${path}`;
      const versioned = `${method.toUpperCase()} /v2${path}`;
      const body = RESPONSE_BODIES[key] ?? RESPONSE_BODIES[versioned];
      const other = OTHER_BODIES[key];
      const success = Object.keys(operation.responses).find((status) => status.startsWith('2')) ?? '200';
      const known = operation.responses[success] as { description?: string } | undefined;
      const statuses = SUCCESS_STATUSES[key] ?? SUCCESS_STATUSES[versioned];
      if (body && statuses) {
        delete operation.responses[success];
        for (const status of statuses) {
          operation.responses[status] = { description: 'Success', content: { 'application/json': { schema: body } } };
        }
      } else if (body) {
        operation.responses[success] = {
          description: known?.description || 'Success',
          content: { 'application/json': { schema: body } },
        };
      } else if (other) {
        operation.responses[success] = {
          description: known?.description || 'Success',
          content: { [other.type]: { schema: other.schema } },
        };
      } else if (body === null || key in RESPONSE_BODIES || versioned in RESPONSE_BODIES || success === '204') {
        operation.responses[success] = { description: known?.description || 'Success, with no body' };
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
