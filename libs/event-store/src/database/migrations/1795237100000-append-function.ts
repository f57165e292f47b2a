import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * One append in one statement: claim the streams' versions, check the chain
 * heads the caller hashed from, move the heads and insert the events. Outside
 * a transaction the statement is its own transaction, so an append is one
 * round trip instead of five (BEGIN, claim, insert, chain head, COMMIT).
 *
 * A stream at another version than expected raises SQLSTATE CY409 (the whole
 * statement is undone). A stream whose version or last hash differs from what
 * the caller assumed (its cached chain head is stale) changes nothing and
 * answers the streams' current heads, with null positions, to hash again from.
 * Otherwise it answers one row per event: position and transaction id, in the
 * order given.
 */
export class AppendFunction1795237100000 implements MigrationInterface {
  name = 'AppendFunction1795237100000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION append_to_streams(
        s_ids text[], s_categories text[], s_expected bigint[], s_base bigint[], s_heads text[],
        s_counts integer[], s_new_heads text[],
        e_ids uuid[], e_streams text[], e_categories text[], e_versions bigint[], e_types text[],
        e_schema_versions integer[], e_data jsonb[], e_prev_hashes text[], e_hashes text[],
        e_metadata jsonb, e_occurred_at timestamptz)
      RETURNS TABLE (stream_id text, version bigint, last_hash text, "position" bigint, transaction_id xid8)
      LANGUAGE plpgsql AS $$
      #variable_conflict use_column
      DECLARE
        created text[];
        ids text[];
        versions bigint[];
        hashes text[];
        i integer;
        j integer;
        stale boolean := false;
      BEGIN
        -- A new stream starts at version 0; a concurrent creator makes this wait, then no-op.
        IF 0 = ANY (s_expected) OR array_position(s_expected, NULL) IS NOT NULL THEN
          WITH inserted AS (
            INSERT INTO streams (stream_id, category, version)
            SELECT r.id, r.category, 0 FROM unnest(s_ids, s_categories, s_expected) AS r(id, category, expected)
            WHERE r.expected IS NULL OR r.expected = 0
            ORDER BY r.id COLLATE "C"
            ON CONFLICT (stream_id) DO NOTHING
            RETURNING streams.stream_id)
          SELECT array_agg(inserted.stream_id) INTO created FROM inserted;
        END IF;

        -- Locked in one fixed order, so two multi-stream appends cannot deadlock. Under READ COMMITTED a
        -- lock that had to wait reads the row as its holder committed it.
        SELECT array_agg(l.stream_id), array_agg(l.version), array_agg(l.last_hash) INTO ids, versions, hashes
        FROM (SELECT s.stream_id, s.version, s.last_hash FROM streams s WHERE s.stream_id = ANY (s_ids)
              ORDER BY s.stream_id COLLATE "C" FOR UPDATE) AS l;

        FOR i IN 1 .. cardinality(s_ids) LOOP
          j := array_position(ids, s_ids[i]);
          IF s_expected[i] IS NOT NULL AND coalesce(versions[j], 0) <> s_expected[i] THEN
            RAISE EXCEPTION 'stream % is at version %, not %', s_ids[i], coalesce(versions[j], 0), s_expected[i]
              USING ERRCODE = 'CY409',
                    DETAIL = json_build_object('streamId', s_ids[i], 'actual', coalesce(versions[j], 0))::text;
          END IF;
          stale := stale OR j IS NULL OR versions[j] <> s_base[i] OR hashes[j] IS DISTINCT FROM s_heads[i];
        END LOOP;

        -- Nothing written, not even the new streams' rows: the caller hashes again from these heads.
        IF stale THEN
          IF created IS NOT NULL THEN
            DELETE FROM streams s WHERE s.stream_id = ANY (created);
          END IF;
          FOR i IN 1 .. cardinality(s_ids) LOOP
            j := array_position(ids, s_ids[i]);
            stream_id := s_ids[i];
            IF j IS NULL OR s_ids[i] = ANY (created) THEN
              version := 0; last_hash := NULL;
            ELSE
              version := versions[j]; last_hash := hashes[j];
            END IF;
            RETURN NEXT;
          END LOOP;
          RETURN;
        END IF;

        -- The chain heads move and the events go in, in one statement.
        RETURN QUERY
          WITH moved AS (
            UPDATE streams s SET version = r.base + r.n, last_hash = r.head, updated_at = now()
            FROM unnest(s_ids, s_base, s_counts, s_new_heads) AS r(id, base, n, head)
            WHERE s.stream_id = r.id)
          INSERT INTO events (event_id, stream_id, category, version, type, schema_version,
                              data, metadata, prev_hash, hash, occurred_at)
          SELECT e.id, e.stream, e.category, e.version, e.type, e.schema_version,
                 e.data, e_metadata, e.prev_hash, e.hash, e_occurred_at
          FROM unnest(e_ids, e_streams, e_categories, e_versions, e_types, e_schema_versions,
                      e_data, e_prev_hashes, e_hashes)
            AS e(id, stream, category, version, type, schema_version, data, prev_hash, hash)
          RETURNING NULL::text, NULL::bigint, NULL::text, events.position, events.transaction_id;
      END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION append_to_streams`);
  }
}
