import { combineHealth, type DeviceHealth, type HealthReason } from '../health';
import { formatPciAddress, type PciAddress } from '../pci';

/**
 * The health faults a simulated device can show, one per kind of finding the
 * real drivers make (NVIDIA XID, ECC, row remapping, fallen off the bus; PCIe
 * AER and link state; FPGA hwmon temperature and power, port errors). `xid`
 * takes an XID number: `xid:79`. Evidence mirrors what the real source shows.
 */
export const HEALTH_FAULTS = [
  'xid',
  'ecc_uncorrectable',
  'row_remap_pending',
  'row_remap_failure',
  'fallen_off_bus',
  'aer_fatal',
  'aer_nonfatal',
  'link_down',
  'over_temperature',
  'over_power',
  'port_error',
] as const;

/** Names from NVIDIA's "XID Errors" catalogue (GPU deployment and management documentation), for the common ones. */
const XID_TEXT: Record<number, string> = {
  13: 'Graphics Engine Exception',
  31: 'GPU memory page fault',
  43: 'GPU stopped processing',
  48: 'Double Bit ECC Error',
  63: 'ECC page retirement or row remapping recording event',
  64: 'ECC page retirement or row remapper recording failure',
  74: 'NVLink Error',
  79: 'GPU has fallen off the bus',
  92: 'High single-bit ECC error rate',
  94: 'Contained ECC error',
  95: 'Uncontained ECC error',
};

/** `xid`, `xid:79`, or one of the other names; why not, otherwise. */
export function checkHealthFault(fault: string): string | null {
  const [kind, arg, ...rest] = fault.split(':');
  if (!(HEALTH_FAULTS as readonly string[]).includes(kind) || rest.length > 0) {
    return `expected one of ${HEALTH_FAULTS.join(', ')} (xid may name its number: xid:79), got ${JSON.stringify(fault)}`;
  }
  if (arg !== undefined && (kind !== 'xid' || !/^\d{1,3}$/.test(arg))) {
    return `only xid takes a number (xid:79), got ${JSON.stringify(fault)}`;
  }
  return null;
}

/** The health a device with these faults reports: the worst finding, with every reason. */
export function simulatedHealth(faults: readonly string[], pci: PciAddress): DeviceHealth {
  const sysfs = `/sys/bus/pci/devices/${formatPciAddress(pci)}`;
  return combineHealth(faults.map((fault) => finding(fault, sysfs)));
}

function finding(fault: string, sysfs: string): DeviceHealth {
  const [kind, arg] = fault.split(':');
  const unhealthy = (reason: HealthReason): DeviceHealth => ({ status: 'unhealthy', reasons: [reason] });
  const degraded = (reason: HealthReason): DeviceHealth => ({ status: 'degraded', reasons: [reason] });
  switch (kind) {
    case 'xid': {
      const xid = arg === undefined ? 43 : Number(arg);
      return unhealthy({
        code: 'xid',
        message: `XID ${xid}: ${XID_TEXT[xid] ?? 'GPU error'}`,
        evidence: { xid, source: 'kernel log (NVRM: Xid)' },
      });
    }
    case 'ecc_uncorrectable':
      return unhealthy({
        code: 'ecc_uncorrectable',
        message: 'Uncorrectable ECC errors since the last reset',
        evidence: { 'ecc.errors.uncorrected.volatile.total': 2 },
      });
    case 'row_remap_pending':
      return degraded({
        code: 'row_remap_pending',
        message: 'Row remapping pending: the GPU needs a reset to apply it',
        evidence: { 'remapped_rows.pending': 'Yes' },
      });
    case 'row_remap_failure':
      return unhealthy({
        code: 'row_remap_failure',
        message: 'Row remapping failed: no spare rows are left',
        evidence: { 'remapped_rows.failure': 'Yes' },
      });
    case 'fallen_off_bus':
      return unhealthy({
        code: 'fallen_off_bus',
        message: 'GPU has fallen off the bus',
        evidence: { 'nvidia-smi': 'Unable to determine the device handle for GPU: GPU is lost' },
      });
    case 'aer_fatal':
      return unhealthy({
        code: 'aer_fatal',
        message: 'PCIe AER fatal errors',
        evidence: { path: `${sysfs}/aer_dev_fatal`, TOTAL_ERR_FATAL: 1 },
      });
    case 'aer_nonfatal':
      return degraded({
        code: 'aer_nonfatal',
        message: 'PCIe AER non-fatal errors',
        evidence: { path: `${sysfs}/aer_dev_nonfatal`, TOTAL_ERR_NONFATAL: 3 },
      });
    case 'link_down':
      return unhealthy({
        code: 'link_down',
        message: 'PCIe link is down',
        evidence: { path: `${sysfs}/current_link_width`, current_link_width: 0 },
      });
    case 'over_temperature':
      return unhealthy({
        code: 'temperature',
        message: 'Temperature 105 C is above the critical threshold 100 C',
        evidence: { temp1_input: 105000, temp1_crit: 100000 },
      });
    case 'over_power':
      return unhealthy({
        code: 'power',
        message: 'Power 260 W is above the card limit 225 W',
        evidence: { power1_input: 260000000, power1_cap: 225000000 },
      });
    default:
      return unhealthy({
        code: 'port_error',
        message: 'FPGA port errors',
        evidence: { path: `${sysfs}/fpga_region/region0/dfl-port.0/errors/errors`, errors: '0x1' },
      });
  }
}
