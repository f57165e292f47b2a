import { Controller, Get, Query, Req, ServiceUnavailableException } from '@nestjs/common';
import type { Request } from 'express';
import {
  AuditLog,
  parseUsagePeriod,
  type QuotaUsage,
  quotaUsageReport,
  usageOf,
  type UsageReport,
} from '@cyborg/audit';
import { Settings } from '@cyborg/config';
import { KeystoneSession, limitsSessionOptions, UnifiedLimits } from '@cyborg/keystone';
import { Policy } from '@cyborg/policy';
import { callerFrom } from '../http/caller';
import { Versioned } from '../http/microversion';
import { Authorize } from '../http/policy.guard';
import { strictQuery } from '../http/query';
import { auditRead } from './audit-errors';
import { projectOfRead } from './project-scope';

const ALL_PROJECTS = 'cyborg:usage:get_all_projects';

/**
 * Per-project usage from the bind events (as `cyborg usage`): accelerators
 * and devices held at `until`, accelerator-hours in [since, until) by
 * resource class and device type. A project sees its own; the admin
 * (`cyborg:usage:get_all_projects`) every project, or the one `project_id` names.
 * With quota on (KEYSTONE_AUTH_URL), `quota` lists the ARQs counted per
 * resource beside the project's Keystone limit.
 */
@Controller('v2/usage')
@Versioned()
export class UsageController {
  private readonly limits: UnifiedLimits | null;

  constructor(
    private readonly log: AuditLog,
    private readonly policy: Policy,
    settings: Settings,
  ) {
    this.limits = settings.KEYSTONE_AUTH_URL
      ? new UnifiedLimits({
          session: new KeystoneSession(limitsSessionOptions(settings).options),
          region: settings.KEYSTONE_REGION_NAME,
          cacheSeconds: settings.QUOTA_LIMITS_CACHE_SECONDS,
        })
      : null;
  }

  @Authorize('cyborg:usage:get')
  @Get()
  async get(
    @Req() request: Request,
    @Query() query: Record<string, unknown>,
  ): Promise<UsageReport & { quota?: QuotaUsage[] }> {
    const { since, until, project_id: asked } = strictQuery(query, ['since', 'until', 'project_id']);
    const { projectId } = projectOfRead(this.policy, ALL_PROJECTS, callerFrom(request), asked);
    const report = await auditRead(() => usageOf(this.log, { ...parseUsagePeriod({ since, until }), projectId }));
    return this.limits ? { ...report, quota: await this.quota(this.limits, projectId) } : report;
  }

  private async quota(limits: UnifiedLimits, projectId: string | undefined): Promise<QuotaUsage[]> {
    try {
      return await quotaUsageReport(this.log, projectId, (p) => limits.forProject(p));
    } catch (error) {
      throw new ServiceUnavailableException(
        `Quota limits could not be read from Keystone: ${(error as Error).message}`,
      );
    }
  }
}
