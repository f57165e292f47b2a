import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The event log (DESIGN invariants 1-7): streams with gapless versions, events
 * that the database refuses to change, a per-stream hash chain, command ids for
 * idempotency, and checkpoints for the processors that read the log.
 */
export class EventLog1763700000000 implements MigrationInterface {
  name = 'EventLog1763700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE streams (
        stream_id   text PRIMARY KEY CHECK (length(stream_id) BETWEEN 1 AND 255),
        category    text NOT NULL,
        version     bigint NOT NULL CHECK (version >= 0),
        last_hash   text,
        updated_at  timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE events (
        position        bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
        transaction_id  xid8 NOT NULL DEFAULT pg_current_xact_id(),
        event_id        uuid NOT NULL UNIQUE,
        stream_id       text NOT NULL,
        category        text NOT NULL,
        version         bigint NOT NULL CHECK (version >= 1),
        type            text NOT NULL,
        schema_version  integer NOT NULL CHECK (schema_version >= 1),
        data            jsonb NOT NULL,
        metadata        jsonb NOT NULL,
        occurred_at     timestamptz NOT NULL,
        prev_hash       text,
        hash            text NOT NULL,
        PRIMARY KEY (stream_id, version)
      )`);
    await q.query(`CREATE INDEX events_log_order ON events (transaction_id, position)`);
    await q.query(`CREATE INDEX events_category_type ON events (category, type)`);

    // Invariant 1: the database itself refuses to change the log.
    await q.query(`
      CREATE FUNCTION events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'the event log is append-only: % on events is refused', TG_OP
          USING ERRCODE = 'restrict_violation';
      END $$`);
    await q.query(`
      CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
        FOR EACH ROW EXECUTE FUNCTION events_refuse_change()`);
    await q.query(`
      CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
        FOR EACH STATEMENT EXECUTE FUNCTION events_refuse_change()`);

    // Wakes log readers at commit; readers also poll, so a lost notification only delays.
    await q.query(`
      CREATE FUNCTION events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('cyborg_events', '');
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE TRIGGER events_notify AFTER INSERT ON events
        FOR EACH STATEMENT EXECUTE FUNCTION events_notify()`);

    // Invariant 5: a command id is recorded with its first result in the append's transaction.
    await q.query(`
      CREATE TABLE commands (
        command_id      text PRIMARY KEY CHECK (length(command_id) BETWEEN 1 AND 255),
        command_type    text NOT NULL,
        payload_hash    text NOT NULL,
        result          jsonb,
        transaction_id  xid8 NOT NULL DEFAULT pg_current_xact_id(),
        position        bigint,
        created_at      timestamptz NOT NULL DEFAULT now()
      )`);

    // Where each log reader (projection, relay) stands; written with its effects.
    await q.query(`
      CREATE TABLE checkpoints (
        name            text PRIMARY KEY,
        transaction_id  xid8 NOT NULL DEFAULT '0',
        position        bigint NOT NULL DEFAULT 0,
        events_handled  bigint NOT NULL DEFAULT 0,
        updated_at      timestamptz NOT NULL DEFAULT now(),
        last_error      text,
        last_error_at   timestamptz
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE checkpoints`);
    await q.query(`DROP TABLE commands`);
    await q.query(`DROP TABLE events`);
    await q.query(`DROP FUNCTION events_notify`);
    await q.query(`DROP FUNCTION events_refuse_change`);
    await q.query(`DROP TABLE streams`);
  }
}
