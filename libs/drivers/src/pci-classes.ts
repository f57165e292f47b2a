import type { DeviceType } from './inventory';

/** lspci's names of the PCI classes (class and subclass, 4 hex digits) accelerators come in. */
const CLASS_NAMES: Record<string, string> = {
  '0100': 'SCSI storage controller',
  '0106': 'SATA controller',
  '0108': 'Non-Volatile memory controller',
  '0180': 'Mass storage controller',
  '0200': 'Ethernet controller',
  '0207': 'Infiniband controller',
  '0280': 'Network controller',
  '0300': 'VGA compatible controller',
  '0302': '3D controller',
  '0380': 'Display controller',
  '0403': 'Audio device',
  '0580': 'Memory controller',
  '0600': 'Host bridge',
  '0604': 'PCI bridge',
  '0700': 'Serial controller',
  '0b40': 'Co-processor',
  '0c03': 'USB controller',
  '0c06': 'InfiniBand',
  '1200': 'Processing accelerators',
};

const CLASS_DEVICE_TYPES: Record<string, DeviceType> = {
  '0108': 'SSD',
  '0200': 'NIC',
  '0207': 'NIC',
  '0280': 'NIC',
  '0c06': 'NIC',
  '0300': 'GPU',
  '0302': 'GPU',
  '0380': 'GPU',
  '0b40': 'QAT',
  '1200': 'AICHIP',
};

/** `3D controller` for class `030200`; `Class 0c05` for one lspci would also call by number. */
export function pciClassName(classCode: string): string {
  const key = classCode.slice(0, 4);
  return CLASS_NAMES[key] ?? `Class ${key}`;
}

/** The device type a PCI class implies, or null when none of Cyborg's types fits. */
export function deviceTypeOfClass(classCode: string): DeviceType | null {
  return CLASS_DEVICE_TYPES[classCode.slice(0, 4)] ?? null;
}

export function isDisplayClass(classCode: string): boolean {
  return classCode.startsWith('03');
}
