import type { LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { RunningService, Settings } from '@cyborg/config';
import { ApiModule } from './api.module';
import { HttpErrorFilter } from './http/http-error.filter';
import { requestId } from './http/request-id.middleware';
import { StorableTextInterceptor } from './http/storable-text.interceptor';

/** Largest request body accepted; Cyborg's bodies are a few kilobytes. */
const BODY_LIMIT = '256kb';

export interface RunningApi extends RunningService {
  url: string;
}

/** The HTTP edge: Cyborg v2 API, health, read models kept by projections. */
export async function startApi(settings: Settings, logger: LoggerService): Promise<RunningApi> {
  const app = await NestFactory.create<NestExpressApplication>(ApiModule.forRoot(settings), {
    logger,
    bodyParser: false,
  });
  app.use(requestId);
  app.useBodyParser('json', { limit: BODY_LIMIT, type: ['application/json', 'application/*+json'] });
  app.useGlobalFilters(new HttpErrorFilter());
  app.useGlobalInterceptors(new StorableTextInterceptor());
  app.disable('x-powered-by');
  await app.listen(settings.API_PORT, settings.API_HOST);
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : settings.API_PORT;
  const url = `http://${settings.API_HOST === '0.0.0.0' ? '127.0.0.1' : settings.API_HOST}:${port}`;
  logger.log({ msg: 'api listening', url });
  return { name: 'api', url, close: () => app.close() };
}
