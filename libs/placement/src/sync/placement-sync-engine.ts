import { Logger } from '@nestjs/common';
import { Backoff } from '@cyborg/config';
import { InventoryReported, isCyborgEvent } from '@cyborg/contracts';
import { evolveHost, type HostState, initialHostState } from '@cyborg/domain';
import type { PlacementClient } from '../client/placement-client';
import { desiredHostTree } from './desired-tree';
import {
  type DrainingProvider,
  emptyHostCache,
  type HostPlacementCache,
  type HostSyncState,
  problemOf,
  type SyncProblem,
  syncHostTree,
} from './host-tree-sync';

/** One event of a `host-<hostname>` stream, as the sync folds it. */
export interface HostEvent {
  hostname: string;
  /** The event's version in its host stream. */
  version: number;
  type: string;
  data: Record<string, unknown>;
  /** Its JetStream sequence. */
  sequence: number;
}

/** What the API may show of a host's sync. */
export interface HostSyncStatus {
  hostname: string;
  /** `pending`: events folded, not yet written to Placement. */
  state: HostSyncState | 'pending';
  computeNodeUuid: string | null;
  /** The host stream's version folded into the desired state. */
  streamVersion: number;
  /** The stream version Placement was last made equal to, and the JetStream sequence of that event. */
  syncedVersion: number | null;
  syncedSequence: number | null;
  providers: number;
  drainingProviders: DrainingProvider[];
  lastError: string | null;
  lastErrorRequestId: string | null;
  lastErrorAt: Date | null;
  lastSyncedAt: Date | null;
}

export interface PlacementSyncEngineOptions {
  /** First wait before retrying a host that failed, waits for its compute node, or drains. */
  retryMinMs?: number;
  /** Longest such wait. */
  retryMaxMs: number;
  /** Hosts written at the same time. */
  concurrency?: number;
  /** Quiet time after a host event before writing, so one report's events go out as one sync. */
  settleMs?: number;
  /** Persists a host's status after each sync; failures are logged, never fatal. */
  saveStatus?: (status: HostSyncStatus) => Promise<void>;
}

type Mode = 'none' | 'incremental' | 'full';
const rank: Record<Mode, number> = { none: 0, incremental: 1, full: 2 };

interface HostRecord {
  hostname: string;
  state: HostState;
  version: number;
  sequence: number;
  cache: HostPlacementCache;
  /** The desired tree Placement was last made equal to. */
  syncedKey: string | null;
  wanted: Mode;
  running: boolean;
  queued: boolean;
  timer: NodeJS.Timeout | null;
  timerAt: number;
  /** `settle`: events wait to be written; `retry`: a backoff after a run that did not end synced. */
  timerKind: 'settle' | 'retry';
  backoff: Backoff;
  /** The wait before the retry after a run that did not end synced; 0 after one that did. */
  backoffMs: number;
  /** Resolved when a run that starts after they were added ends. */
  waiters: (() => void)[];
  status: HostSyncStatus;
}

/**
 * Keeps Placement equal to the desired state folded from host events. Each
 * host is written by one run at a time; events arriving meanwhile make it
 * run again. A host that fails, waits for its compute node or drains is
 * retried with backoff on its own, never holding up other hosts.
 */
export class PlacementSyncEngine {
  private readonly logger = new Logger('placement-sync');
  private readonly hosts = new Map<string, HostRecord>();
  private readonly queue: HostRecord[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private active = 0;
  private started = false;
  private stopped = false;
  private reconcileTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly client: PlacementClient,
    private readonly options: PlacementSyncEngineOptions,
  ) {}

  /**
   * Folds one event into its host's desired state. A version already folded
   * is a redelivery and changes nothing; returns whether it was new.
   */
  apply(event: HostEvent): boolean {
    const host = this.host(event.hostname);
    if (event.version <= host.version) return false;
    if (event.version !== host.version + 1) {
      this.logger.warn({
        msg: 'host stream has a gap in JetStream; folding what arrived',
        hostname: host.hostname,
        expectedVersion: host.version + 1,
        version: event.version,
      });
    }
    try {
      const folded = { type: event.type, data: event.data };
      // A type this version does not know changes nothing it folds.
      if (isCyborgEvent(folded)) host.state = evolveHost(host.state, folded);
    } catch (error) {
      // Redelivering an event that cannot be folded would never help: skip it, loudly.
      this.logger.error({
        msg: 'host event could not be folded; skipped',
        hostname: host.hostname,
        version: event.version,
        type: event.type,
        error: error instanceof Error ? error.message : String(error),
      });
    }
    host.version = event.version;
    host.sequence = event.sequence;
    host.status.streamVersion = event.version;
    if (this.started) {
      // A report ends with InventoryReported: write at once; anything else waits for the rest of its append.
      this.schedule(host, 'incremental', event.type === InventoryReported.type ? 0 : (this.options.settleMs ?? 50));
    }
    return true;
  }

  /** Starts writing: every known host gets a full pass, then every `reconcileIntervalMs` again. */
  start(reconcileIntervalMs: number): void {
    this.started = true;
    for (const host of this.hosts.values()) this.schedule(host, 'full', 0);
    this.reconcileTimer = setInterval(() => void this.reconcile(), reconcileIntervalMs);
  }

  /** Compares every host's tree in Placement with its desired one and repairs drift; resolves when done. */
  async reconcile(): Promise<void> {
    await Promise.all([...this.hosts.values()].map((host) => this.request(host, 'full')));
  }

  /** Resolves when no host has a write running or waiting to start (retries after a backoff excepted). */
  async idle(): Promise<void> {
    for (;;) {
      const busy = [...this.hosts.values()].some(
        (h) => h.running || h.queued || (h.timer !== null && h.timerKind === 'settle'),
      );
      if (!busy) return;
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  statuses(): HostSyncStatus[] {
    return [...this.hosts.values()].map((h) => ({ ...h.status }));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.reconcileTimer) clearInterval(this.reconcileTimer);
    for (const host of this.hosts.values()) {
      if (host.timer) clearTimeout(host.timer);
      host.timer = null;
      for (const resolve of host.waiters.splice(0)) resolve();
    }
    this.queue.length = 0;
    await Promise.all([...this.inFlight]);
  }

  private host(hostname: string): HostRecord {
    let host = this.hosts.get(hostname);
    if (!host) {
      host = {
        hostname,
        state: initialHostState,
        version: 0,
        sequence: 0,
        cache: emptyHostCache(),
        syncedKey: null,
        wanted: 'none',
        running: false,
        queued: false,
        timer: null,
        timerAt: 0,
        timerKind: 'settle',
        backoff: new Backoff({
          initialMs: Math.min(this.options.retryMinMs ?? 500, this.options.retryMaxMs),
          maxMs: this.options.retryMaxMs,
        }),
        backoffMs: 0,
        waiters: [],
        status: {
          hostname,
          state: 'pending',
          computeNodeUuid: null,
          streamVersion: 0,
          syncedVersion: null,
          syncedSequence: null,
          providers: 0,
          drainingProviders: [],
          lastError: null,
          lastErrorRequestId: null,
          lastErrorAt: null,
          lastSyncedAt: null,
        },
      };
      this.hosts.set(hostname, host);
    }
    return host;
  }

  private request(host: HostRecord, mode: Mode): Promise<void> {
    if (this.stopped) return Promise.resolve();
    const done = new Promise<void>((resolve) => host.waiters.push(resolve));
    this.schedule(host, mode, 0);
    return done;
  }

  private schedule(host: HostRecord, mode: Mode, delayMs: number, kind: 'settle' | 'retry' = 'settle'): void {
    if (this.stopped) return;
    if (rank[mode] > rank[host.wanted]) host.wanted = mode;
    if (host.running || host.queued) return;
    const at = Date.now() + delayMs;
    if (host.timer) {
      if (host.timerAt <= at) return;
      clearTimeout(host.timer);
    }
    host.timerAt = at;
    host.timerKind = kind;
    host.timer = setTimeout(() => {
      host.timer = null;
      this.enqueue(host);
    }, delayMs);
  }

  private enqueue(host: HostRecord): void {
    if (this.stopped || host.queued || host.running) return;
    host.queued = true;
    this.queue.push(host);
    this.pump();
  }

  private pump(): void {
    while (this.active < (this.options.concurrency ?? 4) && this.queue.length > 0) {
      const host = this.queue.shift()!;
      host.queued = false;
      this.active++;
      const run = this.run(host).finally(() => {
        this.active--;
        this.inFlight.delete(run);
        this.pump();
      });
      this.inFlight.add(run);
    }
  }

  private async run(host: HostRecord): Promise<void> {
    host.running = true;
    const mode = host.wanted === 'none' ? 'incremental' : host.wanted;
    host.wanted = 'none';
    const waiters = host.waiters.splice(0);
    const version = host.version;
    const sequence = host.sequence;
    const status = host.status;
    const before = status.state;
    try {
      const desired = desiredHostTree(host.state.inventory);
      const key = JSON.stringify(desired.providers);
      if (mode === 'incremental' && key === host.syncedKey && status.state === 'synced') {
        // Nothing Placement shows changed (a handle, an attribute that is no trait, the report's closing event).
        status.syncedVersion = version;
        status.syncedSequence = sequence;
      } else {
        let errors: SyncProblem[];
        try {
          const outcome = await syncHostTree(this.client, host.hostname, desired, host.cache, {
            full: mode === 'full',
          });
          status.state = outcome.state;
          status.computeNodeUuid = outcome.computeNodeUuid;
          status.providers = outcome.providers;
          status.drainingProviders = outcome.draining;
          errors = outcome.errors;
        } catch (error) {
          // Placement down, or the tree could not be read: read it again next time.
          host.cache.children = null;
          status.state = 'error';
          errors = [problemOf(null, error)];
        }
        const problems = desired.problems.map((message) => ({ provider: null, message, requestId: null }));
        this.record(host, [...errors, ...problems], key, version, sequence);
      }
    } catch (error) {
      // A bug, not Placement: never let it take the process down; retry later like any failure.
      status.state = 'error';
      this.record(host, [problemOf(null, error)], null, version, sequence);
    } finally {
      await this.save(status);
      host.running = false;
      for (const resolve of waiters) resolve();
      if (host.wanted !== 'none') this.schedule(host, host.wanted, 0);
      else if (status.state !== 'synced' && status.state !== 'pending') {
        // An error may come from a stale view of the tree: retry it with a full pass.
        this.schedule(host, status.state === 'error' ? 'full' : 'incremental', host.backoffMs, 'retry');
      }
      if (before !== status.state) this.logTransition(host, before);
    }
  }

  /** Puts a pass's result into the host's status and sets its backoff. */
  private record(host: HostRecord, errors: SyncProblem[], key: string | null, version: number, sequence: number): void {
    const status = host.status;
    const failure = errors[0];
    if (failure) {
      status.lastError = errors.map((e) => (e.provider ? `${e.provider}: ${e.message}` : e.message)).join('; ');
      status.lastErrorRequestId = failure.requestId;
      status.lastErrorAt = new Date();
    } else {
      status.lastError = null;
      status.lastErrorRequestId = null;
    }
    if (status.state === 'synced') {
      host.syncedKey = key;
      host.backoff.reset();
      host.backoffMs = 0;
      status.syncedVersion = version;
      status.syncedSequence = sequence;
      status.lastSyncedAt = new Date();
      return;
    }
    host.syncedKey = null;
    host.backoffMs = host.backoff.next();
    if (status.state === 'error') {
      this.logger.warn({
        msg: 'placement sync of host failed; retrying',
        hostname: host.hostname,
        retryInMs: host.backoffMs,
        errors: errors.map((e) => ({ provider: e.provider, error: e.message, requestId: e.requestId })),
      });
    }
  }

  private logTransition(host: HostRecord, before: HostSyncStatus['state']): void {
    const { status } = host;
    const fields = {
      hostname: host.hostname,
      streamVersion: status.streamVersion,
      computeNodeUuid: status.computeNodeUuid,
    };
    switch (status.state) {
      case 'waiting_for_compute_node':
        this.logger.warn({
          msg: `no compute node resource provider named ${host.hostname} in Placement yet; waiting for Nova to create it`,
          ...fields,
        });
        break;
      case 'draining':
        this.logger.log({
          msg: 'resource providers of removed deployables still have allocations: drained (reserved = total) until free',
          ...fields,
          draining: status.drainingProviders,
        });
        break;
      case 'synced':
        this.logger.log({
          msg: 'host synced to Placement',
          ...fields,
          providers: status.providers,
          previously: before,
        });
        break;
      default:
        break;
    }
  }

  private async save(status: HostSyncStatus): Promise<void> {
    if (!this.options.saveStatus) return;
    await this.options.saveStatus({ ...status }).catch((error: unknown) => {
      this.logger.warn({
        msg: 'could not save placement sync status',
        hostname: status.hostname,
        error: String(error),
      });
    });
  }
}
