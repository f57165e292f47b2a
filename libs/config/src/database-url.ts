/**
 * PostgreSQL connection URLs as libpq reads them, including its multi-host
 * form `postgresql://u:p@h1:5432,h2:5432/db?target_session_attrs=read-write`
 * (which `pg` does not read): the hosts are tried in order and the first
 * whose session fits `target_session_attrs` is used.
 */

/** What a session must allow to be kept (libpq's `target_session_attrs`, the two a writer needs). */
export type TargetSessionAttrs = 'any' | 'read-write';

export interface DatabaseHost {
  host: string;
  port: number;
}

export interface DatabaseUrl {
  hosts: DatabaseHost[];
  targetSessionAttrs: TargetSessionAttrs;
  /** A single-host URL `pg` reads, for the i-th host: same credentials, database and parameters. */
  hostUrl(index: number): string;
  /** The same URL naming another database. */
  withDatabase(name: string): string;
}

export class InvalidDatabaseUrlError extends Error {}

// A second `@` (an unencoded one in the password) matches nothing: the message then shows no part of the URL.
const SHAPE = /^(postgres(?:ql)?:\/\/)(?:([^@/?#]*)@)?([^@/?#]*)(\/[^?#]*)?(?:\?([^#]*))?$/;
const HOST = /^(\[[0-9A-Fa-f:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/;
const ATTRS: readonly TargetSessionAttrs[] = ['any', 'read-write'];

/** Parses a postgres:// URL with one host or several; the message of a bad one never repeats the password. */
export function parseDatabaseUrl(url: string): DatabaseUrl {
  const match = SHAPE.exec(url);
  if (!match)
    throw new InvalidDatabaseUrlError('must be postgres://[user[:password]@]host[:port][,host[:port]...]/database');
  const [, scheme, userinfo, hostList, path = '', query = ''] = match;
  const specs = hostList.split(',');
  const hosts = specs.map((spec, i) => {
    const parts = HOST.exec(spec);
    if (!parts) throw new InvalidDatabaseUrlError(`host ${i + 1} of ${specs.length} ("${spec}") is not host[:port]`);
    const port = parts[2] === undefined ? 5432 : Number(parts[2]);
    if (port < 1 || port > 65535)
      throw new InvalidDatabaseUrlError(`port ${port} of host "${parts[1]}" is out of range`);
    return { host: parts[1].replace(/^\[|\]$/g, ''), port };
  });
  const params = new URLSearchParams(query);
  const attrs = params.get('target_session_attrs') ?? 'any';
  if (!(ATTRS as readonly string[]).includes(attrs)) {
    throw new InvalidDatabaseUrlError(`target_session_attrs=${attrs} is not supported (use ${ATTRS.join(' or ')})`);
  }
  params.delete('target_session_attrs');
  const rest = params.size > 0 ? `?${params.toString()}` : '';
  const credentials = userinfo === undefined ? '' : `${userinfo}@`;
  const hostPart = (i: number) => {
    const { host, port } = hosts[i];
    return `${host.includes(':') ? `[${host}]` : host}:${port}`;
  };
  return {
    hosts,
    targetSessionAttrs: attrs as TargetSessionAttrs,
    hostUrl: (i) => `${scheme}${credentials}${hostPart(i)}${path}${rest}`,
    withDatabase: (name) => `${scheme}${credentials}${hostList}/${encodeURIComponent(name)}${query ? `?${query}` : ''}`,
  };
}

/**
 * Whether a URL names several hosts or a session attribute: only such a URL
 * is read here; any other is left to `pg` exactly as before (sockets,
 * unusual passwords).
 */
export function choosesHost(url: string): boolean {
  const authority = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(url)?.[1] ?? '';
  return authority.slice(authority.lastIndexOf('@') + 1).includes(',') || /[?&]target_session_attrs=/.test(url);
}

/** The database a URL names ('' when none). */
export function databaseOf(url: string): string {
  const match = SHAPE.exec(url);
  return match?.[4] ? decodeURIComponent(match[4].slice(1)) : '';
}
