/** Accepts `a,b` (as env vars carry it), a single URL or a list. */
export function normalizeServers(servers: string | string[]): string[] {
  const list = Array.isArray(servers) ? servers : servers.split(',');
  return list.map((s) => s.trim()).filter((s) => s !== '');
}

/** What a NATS connection is given: the servers, and the credentials some of their URLs carried. */
export interface NatsServerOptions {
  servers: string[];
  user?: string;
  pass?: string;
}

const USERINFO = /^([a-z][a-z0-9+.-]*:\/\/)?([^@/]*)@(.+)$/i;

/**
 * The servers of NATS_URL, with `user:password@` taken out of each URL into
 * the connection's own options: the NATS client does not read credentials
 * from URLs, and a URL without them can be logged safely.
 */
export function natsServerOptions(servers: string | string[]): NatsServerOptions {
  const options: NatsServerOptions = { servers: [] };
  for (const server of normalizeServers(servers)) {
    const match = USERINFO.exec(server);
    if (!match) {
      options.servers.push(server);
      continue;
    }
    const [, scheme = '', userinfo, rest] = match;
    options.servers.push(`${scheme}${rest}`);
    if (options.user !== undefined || userinfo === '') continue;
    const colon = userinfo.indexOf(':');
    options.user = decodeURIComponent(colon < 0 ? userinfo : userinfo.slice(0, colon));
    if (colon >= 0) options.pass = decodeURIComponent(userinfo.slice(colon + 1));
  }
  return options;
}
