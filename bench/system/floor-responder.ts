import { connect } from '@nats-io/transport-node';
import pg from 'pg';

/**
 * The floor of any bind, as a process of its own: answers each request on
 * `bench.floor` after one autocommit INSERT (one PostgreSQL commit), with a
 * pool as large as a service's. Started by the lifecycle figures as their
 * baseline.
 */
const SUBJECT = 'bench.floor';
const pool = new pg.Pool({
  connectionString: process.env.DATABASE_URL,
  max: Number(process.env.DATABASE_POOL_SIZE ?? 10),
  application_name: 'cyborg-bench-floor',
});
await pool.query(`CREATE TABLE IF NOT EXISTS bench_floor (id bigserial PRIMARY KEY, data jsonb NOT NULL)`);
const nc = await connect({ servers: process.env.NATS_URL, name: 'cyborg-bench-floor' });
const subscription = nc.subscribe(SUBJECT, {
  queue: 'floor',
  callback: (error, message) => {
    if (error) return;
    pool
      .query(`INSERT INTO bench_floor (data) VALUES ($1) RETURNING id`, [message.string()])
      .then(({ rows }) => message.respond(JSON.stringify({ id: rows[0].id })))
      .catch((failure: unknown) => message.respond(JSON.stringify({ error: String(failure) })));
  },
});
await nc.flush();
console.log(JSON.stringify({ msg: 'floor responder listening', subject: SUBJECT }));
const stop = async () => {
  subscription.unsubscribe();
  await nc.drain().catch(() => undefined);
  await pool.end().catch(() => undefined);
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
