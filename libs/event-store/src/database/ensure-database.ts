import { choosesHost, databaseOf, parseDatabaseUrl } from '@cyborg/config';
import pg from 'pg';
import { primaryClient } from './primary';

/** The same server(s), the database renamed. */
function withDatabase(url: string, name: string): { url: string; database: string } {
  if (choosesHost(url)) return { url: parseDatabaseUrl(url).withDatabase(name), database: databaseOf(url) };
  const single = new URL(url);
  const database = decodeURIComponent(single.pathname.replace(/^\//, ''));
  single.pathname = `/${name}`;
  return { url: single.toString(), database };
}

/** Creates the database named in `url` when it does not exist yet (first start on a machine), on the primary. */
export async function ensureDatabase(url: string): Promise<void> {
  const maintenance = withDatabase(url, 'postgres');
  const name = maintenance.database;
  if (!name) return;
  const probe = primaryClient(url);
  try {
    await probe.connect();
    return;
  } catch (error) {
    if ((error as { code?: string }).code !== '3D000') throw error; // only "database does not exist"
  } finally {
    await probe.end().catch(() => undefined);
  }
  const admin = primaryClient(maintenance.url);
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  } catch (error) {
    if ((error as { code?: string }).code !== '42P04') throw error; // created meanwhile by another service
  } finally {
    await admin.end();
  }
}
