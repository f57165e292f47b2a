import type { Command } from 'commander';
import { parseUsagePeriod, type UsageReport, usageOf } from '@cyborg/audit';
import { withAuditLog } from '../database';
import { printJson, run, table } from '../output';

/** `cyborg usage`: per-project usage from the bind events. */
export function registerUsageCommand(program: Command): void {
  program
    .command('usage')
    .description(
      'per-project usage: accelerators and devices held at the end of a period, and accelerator-hours within it, ' +
        'by resource class and device type, from the bind events',
    )
    .option('--since <time>', 'start of the period (ISO 8601); default 24 hours before --until')
    .option('--until <time>', 'end of the period (ISO 8601); default now')
    .option('--project <id>', 'only this project')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nAn ARQ holds one accelerator from ArqBound until ArqUnbound, ArqDeleted or a failed rebind.\n\n' +
        'Examples:\n  cyborg usage\n  cyborg usage --since 2026-11-01 --until 2026-12-01 --project 5f3c... --json',
    )
    .action((options: { since?: string; until?: string; project?: string; json?: boolean }) =>
      run(async () => {
        const period = parseUsagePeriod(options);
        const report = await withAuditLog((log) => usageOf(log, { ...period, projectId: options.project }));
        if (options.json) printJson(report);
        else console.log(describe(report));
      }),
    );
}

function describe(report: UsageReport): string {
  const head = `usage from ${report.since} to ${report.until}`;
  if (report.projects.length === 0) return `${head}\nno accelerator was held`;
  const rows = report.projects.flatMap((p) =>
    p.resources.map((r) => ({
      project: p.project_id ?? '-',
      resourceClass: r.resource_class,
      deviceType: r.device_type,
      held: String(r.accelerators_held),
      devices: String(r.devices_held),
      binds: String(r.binds),
      hours: r.accelerator_hours.toFixed(4),
    })),
  );
  return `${head}\n\n${table(rows, {
    project: 'PROJECT',
    resourceClass: 'RESOURCE CLASS',
    deviceType: 'DEVICE TYPE',
    held: 'HELD AT END',
    devices: 'DEVICES',
    binds: 'BINDS',
    hours: 'ACCELERATOR-HOURS',
  })}`;
}
