import { createHash, timingSafeEqual } from 'node:crypto';
import { isLoopback } from '@cyborg/config';

/**
 * Who may read a `/metrics`: anyone, only a scraper that presents the
 * bearer token (`Authorization: Bearer <METRICS_TOKEN>`, Prometheus's
 * `authorization` in its scrape config), or nobody (why, for the 401).
 */
export type MetricsAccess = { open: true } | { token: string } | { refused: string };

/**
 * The API's `/metrics`: the token when one is set; else, under keystone,
 * refused unless METRICS_OPEN says it is served to anyone (the metrics name
 * hosts, device counts and request rates: not for whoever reaches the port);
 * under noauth, open as the rest of the API is.
 */
export function apiMetricsAccess(settings: {
  METRICS_TOKEN: string;
  METRICS_OPEN: boolean;
  AUTH_STRATEGY: 'noauth' | 'keystone';
}): MetricsAccess {
  if (settings.METRICS_TOKEN) return { token: settings.METRICS_TOKEN };
  if (settings.AUTH_STRATEGY === 'noauth' || settings.METRICS_OPEN) return { open: true };
  return {
    refused:
      '/metrics needs a bearer token under AUTH_STRATEGY=keystone: set METRICS_TOKEN and send it as ' +
      '"Authorization: Bearer <token>" (or METRICS_OPEN=true to serve the metrics to anyone)',
  };
}

/** A service's own port (conductor, agent, placement-sync): the token when one is set, else open (it listens on loopback). */
export function opsMetricsAccess(token: string): MetricsAccess {
  return token ? { token } : { open: true };
}

const digest = (text: string) => createHash('sha256').update(text).digest();

/** Why a request with this `Authorization` header may not read the metrics; null when it may. */
export function metricsRefusal(access: MetricsAccess, authorization: string | undefined): string | null {
  if ('open' in access) return null;
  if ('refused' in access) return access.refused;
  const presented = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
  if (!presented) return '/metrics needs "Authorization: Bearer <METRICS_TOKEN>"';
  // Equal-length digests: the comparison takes the same time whatever was presented.
  return timingSafeEqual(digest(presented), digest(access.token))
    ? null
    : '/metrics: the bearer token is not METRICS_TOKEN';
}

/** The `WWW-Authenticate` of a refusal (RFC 6750). */
export const METRICS_WWW_AUTHENTICATE = 'Bearer realm="metrics"';

/** What a service's port off loopback without METRICS_TOKEN gives away, said at start; null when it asks a token or stays local. */
export function opsExposureWarning(service: string, host: string, token: string): string | null {
  if (token || isLoopback(host)) return null;
  return (
    `${service.toUpperCase()} METRICS PORT ON ${host} WITHOUT METRICS_TOKEN: anyone who reaches it reads /metrics ` +
    '(hosts, devices, rates). Set METRICS_TOKEN, or leave the host on 127.0.0.1.'
  );
}
