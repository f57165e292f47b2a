import { Injectable, Logger } from '@nestjs/common';
import { Settings } from '@cyborg/config';
import { type CyborgEvent, Streams } from '@cyborg/contracts';
import { decideQuotaCharge, decideQuotaRelease, DomainError, QuotaAggregate } from '@cyborg/domain';
import type { Decision, ReadStream } from '@cyborg/event-store';
import { KeystoneSession, limitsSessionOptions, UnifiedLimits } from '@cyborg/keystone';
import { RpcFailure } from '@cyborg/messaging';
import { failureOf } from '../command-failure';
import { HostLocks } from '../arqs/host-locks';

/** A quota stream's events, added to the command's own appends (its version is the one `read` saw). */
type QuotaAppend = Decision<unknown, CyborgEvent>['appends'][number];

/**
 * Per-project quota for ARQ commands, decided from the project's quota
 * stream (`quota-<project>`) and Keystone's unified limits. On when the
 * service user logs in to Keystone (KEYSTONE_AUTH_URL); off, ARQs are
 * neither limited nor counted. The handlers add what `charge` and
 * `release` return to their own appends, so counting commits with the ARQs
 * and two commands taking the last unit conflict on the stream's version.
 */
@Injectable()
export class QuotaService {
  readonly enabled: boolean;
  private readonly logger = new Logger('quota');
  private readonly limits: UnifiedLimits | null;
  constructor(
    settings: Settings,
    // Commands of one project, one at a time in this conductor: versions still guard across conductors.
    private readonly locks: HostLocks,
  ) {
    this.limits = settings.KEYSTONE_AUTH_URL
      ? new UnifiedLimits({
          session: new KeystoneSession(limitsSessionOptions(settings).options),
          region: settings.KEYSTONE_REGION_NAME,
          cacheSeconds: settings.QUOTA_LIMITS_CACHE_SECONDS,
        })
      : null;
    this.enabled = this.limits !== null;
    if (this.enabled && !limitsSessionOptions(settings).systemScoped) {
      this.logger.warn({
        msg: 'QUOTA LIMITS ARE READ WITH AN APPLICATION CREDENTIAL: Keystone shows it only its own project limits, so other projects get the registered defaults; use a password service user with reader on the system',
      });
    }
  }

  /**
   * The HostLocks keys that hold these projects' quota in this conductor
   * (none when quota is off); `:` never occurs in a hostname.
   */
  lockKeys(projectIds: readonly (string | null)[]): string[] {
    if (!this.enabled) return [];
    return projectIds.filter((p): p is string => p !== null).map((p) => `quota:${p}`);
  }

  /** Holds these projects' quota until the returned function is called. */
  async acquire(projectIds: readonly (string | null)[]): Promise<() => void> {
    const keys = this.lockKeys(projectIds);
    if (keys.length === 0) return () => undefined;
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    await new Promise<void>((entered) => {
      void this.locks.run(keys, () => {
        entered();
        return held;
      });
    });
    return release;
  }

  /**
   * The append that counts new ARQs of a project, or null when there is
   * nothing to count; over a limit it throws the 403 to answer.
   */
  async charge(
    read: ReadStream<CyborgEvent>,
    projectId: string | null,
    arqs: readonly { uuid: string; resourceClass: string | null }[],
  ): Promise<QuotaAppend | null> {
    if (!this.limits || projectId === null) return null;
    const limits = await this.limits.forProject(projectId).catch((error: Error) => {
      this.logger.warn({ msg: 'quota limits unavailable', projectId, error: error.message });
      throw RpcFailure.unavailable(`Quota limits could not be read from Keystone: ${error.message}`);
    });
    const streamId = Streams.quota(projectId);
    const { state } = await read(QuotaAggregate, streamId);
    const events = decideQuotaCharge({ projectId, arqs, limits }, state);
    if (events instanceof DomainError) throw failureOf(events);
    return events.length === 0 ? null : { streamId, events };
  }

  /** The appends that stop counting deleted ARQs, one per project. */
  async release(
    read: ReadStream<CyborgEvent>,
    arqs: readonly { uuid: string; projectId: string | null }[],
  ): Promise<QuotaAppend[]> {
    if (!this.enabled) return [];
    const byProject = new Map<string, string[]>();
    for (const { uuid, projectId } of arqs) {
      if (projectId !== null) byProject.set(projectId, [...(byProject.get(projectId) ?? []), uuid]);
    }
    const appends: QuotaAppend[] = [];
    for (const [projectId, uuids] of byProject) {
      const streamId = Streams.quota(projectId);
      const { state } = await read(QuotaAggregate, streamId);
      const events = decideQuotaRelease(projectId, uuids, state);
      if (events.length > 0) appends.push({ streamId, events });
    }
    return appends;
  }
}
