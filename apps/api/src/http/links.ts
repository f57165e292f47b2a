import type { Request } from 'express';

export interface Link {
  href: string;
  rel: 'self' | 'bookmark';
}

/** scheme://host[:port] of the request; X-Forwarded-Proto wins, as with Cyborg's http_proxy_to_wsgi. */
export function requestBaseUrl(request: Request): string {
  const forwarded = request.get('X-Forwarded-Proto')?.split(',')[0]?.trim();
  const scheme = forwarded || request.protocol;
  return `${scheme}://${request.get('host') ?? 'localhost'}`;
}

/** Cyborg's resource link: `<base>/accelerator/v2/<collection>/<uuid>` (the `/accelerator` is hardcoded upstream). */
export function selfLink(request: Request, collection: string, uuid: string): Link {
  return { href: `${requestBaseUrl(request)}/accelerator/v2/${collection}/${uuid}`, rel: 'self' };
}

/** Cyborg's bookmark link (deployables only): `<base>/accelerator/<collection>/<uuid>`, without the version. */
export function bookmarkLink(request: Request, collection: string, uuid: string): Link {
  return { href: `${requestBaseUrl(request)}/accelerator/${collection}/${uuid}`, rel: 'bookmark' };
}
