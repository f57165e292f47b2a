import type { Command } from 'commander';
import { loadSettings } from '@cyborg/config';
import { controlPathKey, createDrivers, discoverHost, driverSettingsOf, formatPciAddress } from '@cyborg/drivers';
import type { DiscoveredDevice, DiscoveryWarning } from '@cyborg/drivers';
import { printJson, run } from '../output';

/**
 * `cyborg discover`: what the agent's drivers find on this host, as the agent would report it,
 * with each device's health. Read only: discovery reads sysfs and runs `nvidia-smi -q -x` and
 * `lspci`; nothing is created, written or switched.
 */
export function registerDiscoverCommand(program: Command): void {
  program
    .command('discover')
    .description(
      "run the agent's drivers against this host (AGENT_SYSFS_ROOT, AGENT_NVIDIA_SMI_PATH, ...) and print the " +
        'inventory they would report and the health they see; changes nothing on the host',
    )
    .option('--drivers <names>', 'comma-separated drivers (default: AGENT_DRIVERS)')
    .option('--json', 'print JSON: {hostname, devices, warnings}')
    .addHelpText(
      'after',
      '\nExamples:\n  cyborg discover --drivers nvidia_gpu,pci\n' +
        '  AGENT_NVIDIA_VGPU_TYPES=1289 cyborg discover --drivers nvidia_gpu --json',
    )
    .action((options: { drivers?: string; json?: boolean }) =>
      run(async () => {
        const settings = loadSettings();
        const names = (options.drivers ?? settings.AGENT_DRIVERS)
          .split(',')
          .map((d) => d.trim())
          .filter(Boolean);
        const drivers = createDrivers(names, driverSettingsOf(settings));
        const found = await discoverHost(settings.AGENT_HOSTNAME, drivers);
        const report = {
          hostname: settings.AGENT_HOSTNAME,
          devices: found.inventory.devices,
          warnings: found.warnings,
        };
        if (options.json) printJson(report);
        else console.log(describe(report.hostname, report.devices, report.warnings));
      }),
    );
}

function describe(hostname: string, devices: DiscoveredDevice[], warnings: DiscoveryWarning[]): string {
  const lines = [`host ${hostname}: ${devices.length} device(s)`];
  for (const d of devices) {
    const health = d.health ?? { status: 'unknown', reasons: [] };
    lines.push('');
    lines.push(
      `${formatPciAddress(d.controlPathId.info)}  ${d.type} ${d.vendor}:${d.model}  (${d.driverName})  health: ${health.status}`,
    );
    for (const r of health.reasons) lines.push(`    ! ${r.code}: ${r.message}`);
    for (const dep of d.deployables) {
      const rc = dep.attributes.find((a) => a.key === 'rc')?.value ?? '-';
      const traits = dep.attributes.filter((a) => a.key.startsWith('trait')).map((a) => a.value);
      const others = dep.attributes.filter((a) => a.key !== 'rc' && !a.key.startsWith('trait'));
      const indent = dep.parentName ? '      ' : '  ';
      lines.push(
        `${indent}${dep.name}  ${rc} x${dep.numAccelerators}  ${dep.attachHandles.map((h) => h.type).join(',') || 'no handles'}`,
      );
      lines.push(`${indent}  traits: ${traits.join(' ')}`);
      if (others.length > 0) lines.push(`${indent}  ${others.map((a) => `${a.key}=${a.value}`).join(' ')}`);
    }
  }
  if (warnings.length > 0) {
    lines.push('', 'warnings (devices left unknown, not gone):');
    for (const w of warnings) {
      lines.push(`  ${w.driver}${w.controlPathId ? ` ${controlPathKey(w.controlPathId)}` : ''}: ${w.message}`);
    }
  }
  return lines.join('\n');
}
