import { open } from 'node:fs/promises';
import type { DeviceHealth } from '../health';
import { combineHealth } from '../health';

/** How much of the end of the kernel log is read for XID events. */
const TAIL_BYTES = 1024 * 1024;

/**
 * XIDs that take a GPU out of service, from NVIDIA's "XID Errors" catalogue (r555): the GPU
 * has fallen off the bus (79), an uncorrectable or uncontained memory error (48, 95), a row
 * remap failure (64), the GSP firmware not answering (119, 120). Others are degraded: a
 * contained ECC error (94), row remapping events (63), NVLink errors (74), a high single-bit
 * rate (92). The rest (13, 31, 43: faults of one application) say nothing about the device.
 */
const UNHEALTHY_XIDS = new Set([48, 64, 79, 95, 119, 120]);
const DEGRADED_XIDS = new Set([63, 74, 92, 94]);

/**
 * XID events by GPU address in kernel log text, as the NVIDIA driver writes them:
 * `NVRM: Xid (PCI:0000:3b:00): 79, pid=1234, name=qemu, GPU has fallen off the bus.`
 * The driver names the device without its function; every function of that slot is meant.
 */
export function parseXidLog(text: string): Map<string, DeviceHealth> {
  const bySlot = new Map<string, DeviceHealth[]>();
  const re = /NVRM: Xid \(PCI:([0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2})\): (\d+), ([^\n]*)/gi;
  for (const m of text.matchAll(re)) {
    const xid = Number(m[2]);
    const status = UNHEALTHY_XIDS.has(xid) ? 'unhealthy' : DEGRADED_XIDS.has(xid) ? 'degraded' : null;
    if (!status) continue;
    const slot = m[1].toLowerCase();
    const detail = m[3].trim();
    const finding: DeviceHealth = {
      status,
      reasons: [
        {
          code: xid === 79 ? 'fallen_off_bus' : 'xid',
          message: `XID ${xid}: ${detail.replace(/^pid=[^,]*,\s*(name=[^,]*,\s*)?/, '')}`,
          evidence: { xid, line: m[0].slice(0, 300) },
        },
      ],
    };
    bySlot.set(slot, [...(bySlot.get(slot) ?? []), finding]);
  }
  // One reason per XID number and slot: a storm of the same event is one finding.
  const out = new Map<string, DeviceHealth>();
  for (const [slot, findings] of bySlot) {
    const seen = new Set<number>();
    const unique = findings.filter((f) => {
      const xid = Number(f.reasons[0].evidence?.xid);
      if (seen.has(xid)) return false;
      seen.add(xid);
      return true;
    });
    out.set(slot, combineHealth(unique));
  }
  return out;
}

/** The XIDs in the last megabyte of a kernel log file (`/var/log/kern.log`, a `dmesg` dump); none when it is not there. */
export async function readXidLog(path: string): Promise<Map<string, DeviceHealth>> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch {
    return new Map();
  }
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, TAIL_BYTES);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    return parseXidLog(buffer.toString('utf8'));
  } finally {
    await handle.close();
  }
}

/** The slot of a function address, as XID lines name it: `0000:3b:00.0` → `0000:3b:00`. */
export function xidSlot(bdf: string): string {
  return bdf.slice(0, bdf.lastIndexOf('.'));
}
