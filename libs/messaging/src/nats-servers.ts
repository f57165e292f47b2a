/** Accepts `a,b` (as env vars carry it), a single URL or a list. */
export function normalizeServers(servers: string | string[]): string[] {
  const list = Array.isArray(servers) ? servers : servers.split(',');
  return list.map((s) => s.trim()).filter((s) => s !== '');
}
