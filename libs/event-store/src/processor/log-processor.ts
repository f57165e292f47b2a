import type { EntityManager } from 'typeorm';
import type { EventLike, RecordedEvent } from '../types';

/**
 * Something that follows the whole event log from a checkpoint: a projection
 * (writes read models) or the relay (publishes to JetStream).
 */
export interface LogProcessor<E extends EventLike = EventLike> {
  readonly name: string;
  /** Event types it handles; the checkpoint moves past all others. All types when absent. */
  readonly eventTypes?: readonly string[];
  /**
   * 'transactional': handle() writes through `tx`, which also stores the
   * checkpoint, so each event takes effect exactly once.
   * 'external': handle() acts outside the database (publishing) and must be
   * idempotent; the checkpoint is stored after it returns (at least once).
   */
  readonly delivery: 'transactional' | 'external';
  readonly batchSize?: number;
  handle(events: RecordedEvent<E>[], tx: EntityManager): Promise<void>;
}
