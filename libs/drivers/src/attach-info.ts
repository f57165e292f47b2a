import { parsePciAddress, type PciAddress } from './pci';

/** An attach handle's `attach_info` read back: the PCI function, and for an MDEV its type and mark. */
export interface AttachInfo {
  address: PciAddress;
  askedType: string | null;
  vgpuMark: string | null;
  physicalNetwork: string | null;
}

/** Reads `pciAttachInfo` / `mdevAttachInfo` strings; null when the text is not one. */
export function parseAttachInfo(info: string): AttachInfo | null {
  let json: unknown;
  try {
    json = JSON.parse(info);
  } catch {
    return null;
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return null;
  const o = json as Record<string, unknown>;
  const text = (k: string) => (typeof o[k] === 'string' ? o[k] : null);
  const domain = text('domain');
  const bus = text('bus');
  const device = text('device');
  const fn = text('function');
  if (domain === null || bus === null || device === null || fn === null) return null;
  const address = parsePciAddress(`${domain}:${bus}:${device}.${fn}`);
  if (!address) return null;
  return {
    address,
    askedType: text('asked_type'),
    vgpuMark: text('vgpu_mark'),
    physicalNetwork: text('physical_network'),
  };
}
