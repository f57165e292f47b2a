import type { RecordedEvent } from '@cyborg/event-store';
import type { EntityManager } from 'typeorm';

/**
 * A read model kept from the log. apply() runs in the same transaction as the
 * projection's checkpoint, so each event takes effect exactly once. A read
 * model is disposable: rebuilding from the start of the log gives the same rows.
 */
export interface Projection {
  readonly name: string;
  readonly eventTypes: readonly string[];
  /** The tables this projection owns, emptied on rebuild. */
  readonly tables: readonly string[];
  apply(event: RecordedEvent, tx: EntityManager): Promise<void>;
}
