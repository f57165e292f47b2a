import { formatPciAddress, parsePciAddress, type PciAddress } from '../pci';

/** `lspci -nnn -D`: every function with its names and numeric ids, full addresses. */
export const LSPCI_ARGS = ['-nnn', '-D'];

/** One line of `lspci -nnn -D`. */
export interface LspciFunction {
  bdf: string;
  address: PciAddress;
  /** `Processing accelerators` */
  controller: string;
  /** `1200`: class and subclass. */
  classCode: string;
  /** `Xilinx Corporation Device`: the text before the ids, as upstream's pattern takes it. */
  model: string;
  vendor: string;
  product: string;
}

// 0000:d8:00.0 Processing accelerators [1200]: Xilinx Corporation Device [10ee:5004] (rev 02)
const LINE =
  /^([0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]) (.+?) \[([0-9a-f]{4})\]: (.*?) ?\[([0-9a-f]{4}):([0-9a-f]{4})\]/i;

/** The lines that read as functions; anything else (headers, blank lines) is skipped. */
export function parseLspci(text: string): LspciFunction[] {
  const out: LspciFunction[] = [];
  for (const line of text.split('\n')) {
    const m = LINE.exec(line.trim());
    const address = m ? parsePciAddress(m[1]) : null;
    if (!m || !address) continue;
    out.push({
      bdf: formatPciAddress(address),
      address,
      controller: m[2],
      classCode: m[3].toLowerCase(),
      model: m[4].trim(),
      vendor: m[5].toLowerCase(),
      product: m[6].toLowerCase(),
    });
  }
  return out;
}
