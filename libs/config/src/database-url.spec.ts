import { choosesHost, databaseOf, InvalidDatabaseUrlError, parseDatabaseUrl } from './database-url';
import { InvalidSettingsError, loadSettings } from './settings';

describe('database URLs', () => {
  it('read one host as pg does, with the default port and any session', () => {
    const url = parseDatabaseUrl('postgres://postgres@127.0.0.1/cyborg');
    expect(url.hosts).toEqual([{ host: '127.0.0.1', port: 5432 }]);
    expect(url.targetSessionAttrs).toBe('any');
    expect(url.hostUrl(0)).toBe('postgres://postgres@127.0.0.1:5432/cyborg');
  });

  it("read libpq's multi-host form: each host a one-host URL with the same credentials and parameters", () => {
    const url = parseDatabaseUrl(
      'postgresql://u:p%40ss@db-a:5433,[::1]:6432,db-c/cyborg?sslmode=require&target_session_attrs=read-write',
    );
    expect(url.hosts).toEqual([
      { host: 'db-a', port: 5433 },
      { host: '::1', port: 6432 },
      { host: 'db-c', port: 5432 },
    ]);
    expect(url.targetSessionAttrs).toBe('read-write');
    expect(url.hostUrl(0)).toBe('postgresql://u:p%40ss@db-a:5433/cyborg?sslmode=require');
    expect(url.hostUrl(1)).toBe('postgresql://u:p%40ss@[::1]:6432/cyborg?sslmode=require');
    expect(url.withDatabase('postgres')).toBe(
      'postgresql://u:p%40ss@db-a:5433,[::1]:6432,db-c/postgres?sslmode=require&target_session_attrs=read-write',
    );
    expect(databaseOf('postgresql://u:p@a:1,b:2/cyborg?target_session_attrs=read-write')).toBe('cyborg');
  });

  it('refuse a bad host list or session attribute with a message that names it, never the password', () => {
    const bad = [
      ['postgresql://u:secret@a:5432,,b:5432/db', /host 2 of 3/],
      ['postgresql://u:secret@a:99999/db', /port 99999 of host "a" is out of range/],
      ['postgresql://u:secret@a:x/db', /host 1 of 1 \("a:x"\) is not host\[:port\]/],
      ['postgresql://u:secret@a,b/db?target_session_attrs=standby', /target_session_attrs=standby is not supported/],
      ['postgresql://u:sec@ret@a,b/db', /must be postgres:\/\/\[user/],
    ] as const;
    for (const [url, message] of bad) {
      expect(() => parseDatabaseUrl(url)).toThrow(InvalidDatabaseUrlError);
      expect(() => parseDatabaseUrl(url)).toThrow(message);
      expect(() => parseDatabaseUrl(url)).not.toThrow(/secret|ret@/);
    }
  });

  it('leave a one-host URL without target_session_attrs to pg, as before (sockets, an unencoded @ in the password)', () => {
    for (const url of ['postgres:///cyborg?host=/var/run/postgresql', 'postgres://u:p@ss@db/cyborg']) {
      expect(choosesHost(url)).toBe(false);
      expect(loadSettings({ DATABASE_URL: url }).DATABASE_URL).toBe(url);
    }
    expect(choosesHost('postgresql://u:p,q@db-a/cyborg')).toBe(false);
    expect(choosesHost('postgresql://u:p@db-a,db-b/cyborg')).toBe(true);
    expect(choosesHost('postgresql://u:p@db-a/cyborg?target_session_attrs=read-write')).toBe(true);
  });

  it('are accepted by the settings with several hosts, and a bad list stops the service at start', () => {
    const multi = 'postgresql://cyborg:pw@db-a:5432,db-b:5432/cyborg?target_session_attrs=read-write';
    expect(loadSettings({ DATABASE_URL: multi }).DATABASE_URL).toBe(multi);
    const bad = () => loadSettings({ DATABASE_URL: 'postgresql://cyborg:pw@db-a:5432,db-b:0x/cyborg' });
    expect(bad).toThrow(InvalidSettingsError);
    expect(bad).toThrow(/DATABASE_URL host 2 of 2 \("db-b:0x"\) is not host\[:port\]/);
  });
});
