import type { LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { createLogger, isLoopback, pinoOf, type RunningService, type Settings } from '@cyborg/config';
import { apiMetricsAccess, processMetrics } from '@cyborg/metrics';
import { ApiModule } from './api.module';
import { authentication, keystoneAuth } from './http/authentication';
import { metricsAccess } from './http/metrics-access';
import { mountConsole } from './console/console-static';
import { HttpErrorFilter } from './http/http-error.filter';
import { requestId } from './http/request-id.middleware';
import { StorableTextInterceptor } from './http/storable-text.interceptor';
import { httpMetrics } from './http/access-log';
import { buildOpenApiDocument, OpenApiDocument } from './openapi/openapi';

/** Largest request body accepted; Cyborg's bodies are a few kilobytes. */
const BODY_LIMIT = '256kb';

export interface RunningApi extends RunningService {
  url: string;
  /** The address and port the server is bound to. */
  address: { host: string; port: number };
}

/** The HTTP edge: Cyborg v2 API, health, read models kept by projections. */
export async function startApi(settings: Settings, logger: LoggerService): Promise<RunningApi> {
  const keystone = settings.AUTH_STRATEGY === 'keystone' ? keystoneAuth(settings) : null;
  // The access log goes where the service logs; a logger that is not pino (a test's) gets one from the settings.
  const pino = pinoOf(logger) ?? createLogger('api', settings).pino;
  const app = await NestFactory.create<NestExpressApplication>(ApiModule.forRoot(settings, pino, keystone), {
    logger,
    bodyParser: false,
  });
  app.use(requestId);
  app.use(httpMetrics(processMetrics()));
  app.use('/metrics', metricsAccess(apiMetricsAccess(settings)));
  // Before the body is read, as keystonemiddleware sits before the API.
  app.use(authentication(keystone, logger));
  app.useBodyParser('json', { limit: BODY_LIMIT, type: ['application/json', 'application/*+json'] });
  app.useGlobalFilters(new HttpErrorFilter());
  app.useGlobalInterceptors(new StorableTextInterceptor());
  app.disable('x-powered-by');
  mountConsole(app, settings.CONSOLE_DIR, logger);
  app.get(OpenApiDocument).document = buildOpenApiDocument(app);
  await app.listen(settings.API_PORT, settings.API_HOST);
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : settings.API_PORT;
  const bound = typeof address === 'object' && address ? address.address : settings.API_HOST;
  const host = settings.API_HOST;
  const reachable =
    host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host;
  const url = `http://${reachable}:${port}`;
  logger.log({ msg: 'api listening', url, host, port, auth: settings.AUTH_STRATEGY });
  if (keystone) {
    logger.log({ msg: `validating every token with Keystone at ${settings.KEYSTONE_AUTH_URL}`, host });
  }
  warnOfNoauth(settings, logger, host, port);
  if (keystone && settings.METRICS_OPEN && !settings.METRICS_TOKEN) {
    logger.warn({ msg: 'METRICS_OPEN=true: /metrics answers anyone who reaches this port, without a token', host });
  }
  return { name: 'api', url, address: { host: bound, port }, close: () => app.close() };
}

/** noauth believes whatever identity a request claims: say so at every start, and loudly off loopback. */
function warnOfNoauth(settings: Settings, logger: LoggerService, host: string, port: number): void {
  if (settings.AUTH_STRATEGY !== 'noauth') return;
  const meaning =
    'AUTH_STRATEGY=noauth: no token is checked; identity comes from the X-User-Id, X-Project-Id, X-Roles and ' +
    'X-Service-Roles headers, and a request without them is the cloud admin with a service token';
  if (isLoopback(host)) {
    logger.warn({ msg: `${meaning}. Listening on ${host} only: anyone on this machine is admin.`, host });
    return;
  }
  logger.warn({
    msg:
      `NOAUTH API ON A NON-LOOPBACK ADDRESS (${host}): ANYONE WHO CAN REACH PORT ${port} IS ADMIN. ` +
      `${meaning}. Use AUTH_STRATEGY=keystone, or unset API_HOST to listen on 127.0.0.1 only.`,
    host,
  });
}
