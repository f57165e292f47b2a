import { Streams } from '@cyborg/contracts';
import { evolveQuota, fold, initialQuotaState, type QuotaLimits, quotaUsageOf } from '@cyborg/domain';
import type { AuditLog } from './audit-log';

/** One resource of one project: ARQs counted against it from the log, and its Keystone limit. */
export interface QuotaUsage {
  project_id: string;
  /** Keystone's resource name: `class:FPGA`. */
  resource: string;
  in_use: number;
  /** Null: unlimited (no limit registered, or -1). */
  limit: number | null;
}

/**
 * Quota usage from the projects' quota streams (what ARQ creation decides
 * on), beside each project's limits: the project asked, or every project
 * with a quota stream.
 */
export async function quotaUsageReport(
  log: AuditLog,
  projectId: string | undefined,
  limitsOf: (projectId: string) => Promise<QuotaLimits>,
): Promise<QuotaUsage[]> {
  const projects =
    projectId !== undefined
      ? [projectId]
      : (
          await log.rows<{ stream_id: string }>(
            `SELECT DISTINCT stream_id FROM events WHERE category = 'quota' ORDER BY stream_id`,
          )
        ).map((r) => r.stream_id.slice(Streams.quota('').length));
  const out: QuotaUsage[] = [];
  for (const project of projects) {
    const state = fold(await log.readStream(Streams.quota(project)), evolveQuota, initialQuotaState);
    for (const u of quotaUsageOf(state, await limitsOf(project))) {
      out.push({ project_id: project, resource: u.resource, in_use: u.inUse, limit: u.limit });
    }
  }
  return out;
}
