import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoggerService } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { NextFunction, Request, Response } from 'express';

export const CONSOLE_PATH = '/console';

/**
 * Nothing but this origin: the bundle's own scripts and styles, the API
 * (fetch and server-sent events), no framing, no inline script.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** The package's `dist/console`, found from this file in the sources or in `dist/`. */
export function defaultConsoleDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return join(dir, 'dist', 'console');
}

/**
 * Serves the built console under `/console/` (its data comes from the REST
 * API, behind the same policy). Hashed assets are cached for good; the page
 * itself is revalidated so a new build shows at once.
 */
export function mountConsole(app: NestExpressApplication, configured: string | undefined, logger: LoggerService): void {
  const dir = resolve(configured ?? defaultConsoleDir());
  const built = existsSync(join(dir, 'index.html'));
  if (!built) {
    logger.warn({ msg: `the web console is not built in ${dir}: npm run build builds it (or set CONSOLE_DIR)`, dir });
  }
  app.use(CONSOLE_PATH, (request: Request, response: Response, next: NextFunction) => {
    response.set({
      'Content-Security-Policy': CONTENT_SECURITY_POLICY,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'X-Frame-Options': 'DENY',
    });
    if (!built && request.method === 'GET' && !request.path.startsWith('/session')) {
      response.status(404).json({
        error_message: `The web console is not built: run npm run build (looked in ${dir})`,
      });
      return;
    }
    next();
  });
  if (!built) return;
  app.useStaticAssets(dir, {
    prefix: `${CONSOLE_PATH}/`,
    index: 'index.html',
    fallthrough: true,
    setHeaders: (response, path) => {
      response.setHeader(
        'Cache-Control',
        path.includes(`${join(dir, 'assets')}`) ? 'public, max-age=31536000, immutable' : 'no-cache',
      );
    },
  });
}
