import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A command's append and its record in one statement: append_to_streams,
 * then the command row with the position of its last event, in the same
 * transaction. An idempotent command thus costs one round trip, and the
 * duplicate check is the commands table's primary key, not a SELECT: a
 * command id already recorded raises SQLSTATE CY410 and the whole
 * statement, events included, is undone. A stale chain head records nothing
 * and answers the heads, as append_to_streams does.
 */
export class AppendCommand1795243100000 implements MigrationInterface {
  name = 'AppendCommand1795243100000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION append_command(
        s_ids text[], s_categories text[], s_expected bigint[], s_base bigint[], s_heads text[],
        s_counts integer[], s_new_heads text[],
        e_ids uuid[], e_streams text[], e_categories text[], e_versions bigint[], e_types text[],
        e_schema_versions integer[], e_data jsonb[], e_prev_hashes text[], e_hashes text[],
        e_metadata jsonb, e_occurred_at timestamptz,
        c_id text, c_type text, c_payload_hash text, c_result jsonb)
      RETURNS TABLE (stream_id text, version bigint, last_hash text, "position" bigint, transaction_id xid8)
      LANGUAGE plpgsql AS $$
      #variable_conflict use_column
      DECLARE
        r record;
        last_position bigint;
      BEGIN
        FOR r IN SELECT * FROM append_to_streams(s_ids, s_categories, s_expected, s_base, s_heads, s_counts,
            s_new_heads, e_ids, e_streams, e_categories, e_versions, e_types, e_schema_versions, e_data,
            e_prev_hashes, e_hashes, e_metadata, e_occurred_at) LOOP
          stream_id := r.stream_id; version := r.version; last_hash := r.last_hash;
          "position" := r.position; transaction_id := r.transaction_id;
          last_position := r.position;
          RETURN NEXT;
        END LOOP;
        -- Null: the heads were stale and nothing was written; the caller hashes again and calls again.
        IF last_position IS NOT NULL THEN
          INSERT INTO commands (command_id, command_type, payload_hash, result, position)
          VALUES (c_id, c_type, c_payload_hash, c_result, last_position)
          ON CONFLICT (command_id) DO NOTHING;
          IF NOT FOUND THEN
            RAISE EXCEPTION 'command % was handled before', c_id USING ERRCODE = 'CY410';
          END IF;
        END IF;
        RETURN;
      END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION append_command`);
  }
}
