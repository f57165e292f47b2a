import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy, Optional } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { Backoff, Settings } from '@cyborg/config';
import { eventSchemas, Streams } from '@cyborg/contracts';
import {
  DurableEventConsumer,
  eventsStreamFrom,
  EventTypeRegistry,
  primaryClient,
  type RelayedEvent,
  replayEvents,
} from '@cyborg/event-store';
import { EndpointNotFoundError, type ServiceAuth, serviceAuthFrom } from '@cyborg/keystone';
import { connectNats } from '@cyborg/messaging';
import { placementKind, probe, processMetrics } from '@cyborg/metrics';
import { PlacementClient, PlacementSyncEngine, PlacementSyncStatusStore } from '@cyborg/placement';

/** The durable JetStream consumer of this service. */
export const PLACEMENT_SYNC_CONSUMER = 'placement-sync';
const HOST_STREAM_PREFIX = Streams.host('');
/** Advisory lock: one active placement-sync across processes (same namespace as the log processors). */
const LOCK_NAMESPACE = 0x43594247;

/** Placement is reached through PLACEMENT_URL, or found in the service catalog when a service user logs in. */
export function placementConfigured(settings: Settings): boolean {
  return Boolean(settings.PLACEMENT_URL || settings.KEYSTONE_AUTH_URL);
}

interface Active {
  nc: NatsConnection;
  client: PlacementClient;
  engine: PlacementSyncEngine;
  consumer: DurableEventConsumer;
}

/**
 * Mirrors reported deployables into OpenStack Placement, found at
 * PLACEMENT_URL or in the service user's catalog (KEYSTONE_AUTH_URL).
 * Without either it says so once and stays idle, so a single machine runs
 * without Placement.
 *
 * The desired state lives only in memory: on becoming active it is rebuilt
 * by reading every host event from the start of the events stream, then the
 * durable consumer delivers what is new (and redelivers what was not
 * acked; versions already folded are skipped). Nothing in Placement is
 * trusted as a record of what was done.
 */
@Injectable()
export class PlacementSyncService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('placement-sync');
  private readonly registry = EventTypeRegistry.from(eventSchemas);
  private stopping = false;
  private loop: Promise<void> | null = null;
  private active: Active | null = null;
  /** The session that holds the lock, or that stands by to take it: kept open between attempts. */
  private lockSession: pg.Client | null = null;
  private holdsLock = false;
  private wake: (() => void) | null = null;
  private readyResolve: (() => void) | null = null;
  private readonly readyPromise = new Promise<void>((resolve) => (this.readyResolve = resolve));

  constructor(
    private readonly settings: Settings,
    @Optional() private readonly dataSource?: DataSource,
  ) {}

  onApplicationBootstrap(): void {
    const auth = serviceAuthFrom(this.settings, {
      serviceType: 'placement',
      url: this.settings.PLACEMENT_URL,
      // noauth2's admin: for Placement test set-ups without Keystone only.
      token: 'admin',
    });
    if (!auth || !this.dataSource) {
      this.logger.log({ msg: 'neither PLACEMENT_URL nor KEYSTONE_AUTH_URL is set: Placement sync is off' });
      this.readyResolve?.();
      return;
    }
    this.loop = this.run(auth);
  }

  /** Before the database closes (application shutdown), so the last statuses are saved. */
  async onModuleDestroy(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.loop;
  }

  /** Resolves once this instance is active: desired state rebuilt, consumer running (at once when off). */
  ready(): Promise<void> {
    return this.readyPromise;
  }

  /** Runs a full reconcile of every host now and resolves when it is done. */
  async reconcile(): Promise<void> {
    await this.active?.engine.reconcile();
  }

  /** Resolves when no host has Placement writes running or about to start. */
  async idle(): Promise<void> {
    await this.active?.engine.idle();
  }

  /**
   * Its dependencies: PostgreSQL (the lock, sync statuses) and, while
   * active, NATS and Placement. A standby or a sync turned off needs no more.
   */
  async readiness(): Promise<Record<string, { ok: boolean; latency_ms?: number; error?: string }>> {
    const url = this.settings.PLACEMENT_URL;
    if (!url || !this.dataSource) return {};
    const dataSource = this.dataSource;
    const checks: Record<string, { ok: boolean; latency_ms?: number; error?: string }> = {
      postgres: await probe(() => dataSource.query('SELECT 1'), 'PostgreSQL'),
    };
    const active = this.active;
    if (active) {
      checks.nats = await probe(() => active.nc.rtt(), 'NATS');
      checks.placement = await probe(async () => {
        const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
        await response.body?.cancel();
        if (response.status >= 500) throw new Error(`Placement answered ${response.status}`);
      }, 'Placement');
    }
    return checks;
  }

  /** Placement calls made by the active instance. */
  counters(): { requests: number; writes: number; conflicts: number } {
    return { ...(this.active?.client.counters ?? { requests: 0, writes: 0, conflicts: 0 }) };
  }

  private async run(auth: ServiceAuth): Promise<void> {
    let standbyLogged = false;
    const backoff = new Backoff({ initialMs: 500, maxMs: 30_000 });
    // A standby tries the lock this often: the longest a takeover waits once the active instance is gone.
    const poll = this.settings.PLACEMENT_SYNC_STANDBY_POLL_MS;
    while (!this.stopping) {
      try {
        if (!(await this.takeLock())) {
          if (!standbyLogged) this.logger.log({ msg: 'another placement-sync is active; standing by' });
          standbyLogged = true;
          await this.sleep(poll);
          continue;
        }
        standbyLogged = false;
        await this.activate(auth);
        backoff.reset();
        // Active until shutdown or until the lock's session is lost.
        while (!this.stopping && this.holdsLock) await this.sleep(poll);
      } catch (error) {
        if (this.stopping) break;
        if (error instanceof EndpointNotFoundError) {
          this.logger.warn({ msg: `${error.message} and PLACEMENT_URL is not set: Placement sync is off` });
          this.readyResolve?.();
          break;
        }
        const retryInMs = backoff.next();
        this.logger.error({
          msg: 'placement sync failed to start; retrying',
          error: (error as Error).message,
          retryInMs,
        });
        await this.sleep(retryInMs);
      } finally {
        // Stepping down for any reason gives the lock back, so this or another process can take over.
        if (this.holdsLock || this.active) {
          await this.deactivate();
          await this.releaseLock();
        }
      }
    }
    await this.deactivate();
    await this.releaseLock();
  }

  private async activate(auth: ServiceAuth): Promise<void> {
    // Where Placement is, before anything starts: a catalog without it turns the sync off.
    const url = await auth.baseUrl();
    const nc = await connectNats(this.settings.NATS_URL, 'cyborg-placement-sync');
    const metrics = processMetrics();
    const client = new PlacementClient({
      auth,
      onCall: (call) => {
        this.logger.debug({ msg: 'placement call', ...call });
        const kind = placementKind(call.method, call.path);
        metrics.placementRequests.inc({ kind, status: String(call.status) });
        metrics.placementRequestDuration.observe({ kind }, call.durationMs / 1000);
      },
      onConflictRetried: (error) =>
        metrics.placementConflictsRetried.inc({ kind: placementKind(error.method, error.path) }),
    });
    const store = new PlacementSyncStatusStore(this.dataSource!);
    const engine = new PlacementSyncEngine(client, {
      retryMaxMs: this.settings.PLACEMENT_RETRY_MAX_MS,
      saveStatus: (status) => store.save(status),
    });
    const onEvent = (event: RelayedEvent) => {
      if (!event.streamId.startsWith(HOST_STREAM_PREFIX)) return;
      engine.apply({
        hostname: event.streamId.slice(HOST_STREAM_PREFIX.length),
        version: event.version,
        type: event.type,
        data: event.data,
        sequence: event.sequence,
      });
    };
    const stream = eventsStreamFrom(this.settings);
    const hostEvents = `${this.settings.EVENTS_SUBJECT_PREFIX}.host.>`;
    const consumer = new DurableEventConsumer(nc, {
      ...stream,
      durableName: PLACEMENT_SYNC_CONSUMER,
      filterSubject: hostEvents,
      registry: this.registry,
      // Folding is synchronous and idempotent: the ack means "in the desired state".
      onEvent,
    });
    this.active = { nc, client, engine, consumer };
    await consumer.ensure();
    const replayed = await replayEvents(nc, {
      ...stream,
      filterSubject: hostEvents,
      registry: this.registry,
      onEvent,
      onMalformed: (error) => this.logger.error({ msg: 'malformed event skipped in rebuild', error: error.message }),
    });
    engine.start(this.settings.PLACEMENT_RECONCILE_INTERVAL_MS);
    await consumer.start();
    this.logger.log({
      msg: 'placement sync active',
      url,
      via: auth.description,
      hostEventsReplayed: replayed,
      hosts: engine.statuses().length,
      reconcileIntervalMs: this.settings.PLACEMENT_RECONCILE_INTERVAL_MS,
    });
    this.readyResolve?.();
  }

  private async deactivate(): Promise<void> {
    const active = this.active;
    this.active = null;
    if (!active) return;
    await active.consumer.stop().catch(() => undefined);
    await active.engine.stop();
    await active.nc.drain().catch(() => undefined);
  }

  private async takeLock(): Promise<boolean> {
    const session = this.lockSession ?? (await this.openLockSession());
    const { rows } = await session.query<{ locked: boolean }>(
      `SELECT pg_try_advisory_lock($1, hashtext($2)) AS locked`,
      [LOCK_NAMESPACE, PLACEMENT_SYNC_CONSUMER],
    );
    this.holdsLock = rows[0].locked;
    return this.holdsLock;
  }

  private async openLockSession(): Promise<pg.Client> {
    const session = primaryClient(this.settings.DATABASE_URL, { application_name: 'cyborg:placement-sync' });
    const lost = () => {
      if (this.lockSession !== session) return;
      this.lockSession = null;
      if (this.holdsLock && !this.stopping) {
        this.logger.warn({ msg: 'lost the placement-sync lock session; stepping down' });
      }
      this.holdsLock = false;
      this.wake?.();
    };
    session.on('error', lost);
    session.on('end', lost);
    try {
      await session.connect();
    } catch (error) {
      await session.end().catch(() => undefined);
      throw error;
    }
    this.lockSession = session;
    return session;
  }

  private async releaseLock(): Promise<void> {
    const session = this.lockSession;
    this.lockSession = null;
    this.holdsLock = false;
    await session?.end().catch(() => undefined);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}
