import {
  DiscoveryFailedError,
  type AcceleratorDriver,
  type Bitstream,
  type Discovery,
  type DriverCallOptions,
  type ProgramResult,
} from '../driver';
import { programWithTool } from '../fpga-programming';
import type { DiscoveredDeployable, DiscoveredDevice } from '../inventory';
import { pciAttachInfo, pythonJsonDumps } from '../pci';
import { deployableAttributes, nameSuffix } from '../placement-names';
import { errorMessage, readPciFunction } from '../sysfs';
import { DEFAULT_PROGRAM_TIMEOUT_MS, DEFAULT_TOOL_TIMEOUT_MS, runTool, toolFailure } from '../tool';
import { LSPCI_ARGS, parseLspci, type LspciFunction } from './lspci';

export const XILINX_FPGA_DRIVER = 'xilinx_fpga';
/** Upstream's `xbmgmt` path (XRT). */
export const DEFAULT_XBMGMT_PATH = '/opt/xilinx/xrt/bin/xbmgmt';
export const DEFAULT_LSPCI_PATH = 'lspci';
const XILINX_VENDOR = '10ee';
/** `Processing accelerators`: Alveo cards' class. */
const ACCELERATOR_CLASS = '12';
/** XRT's management PF driver; `xocl` drives the user PF. */
const MANAGEMENT_DRIVER = 'xclmgmt';
const DEPLOYABLE_DRIVER_NAME = 'XILINX';

export interface XilinxFpgaDriverOptions {
  hostname: string;
  sysfsRoot: string;
  lspciPath: string;
  xbmgmtPath: string;
  toolTimeoutMs?: number;
  programTimeoutMs?: number;
}

/** One card: its functions in one PCI slot, and which of them XRT manages it through. */
interface XilinxCard {
  functions: LspciFunction[];
  management: LspciFunction;
}

/**
 * Xilinx (AMD) Alveo cards from `lspci -nnn -D` (vendor 10ee, processing accelerators), as
 * upstream finds them. The management PF and the user PF of one slot are one device with one
 * deployable of one accelerator and a PCI handle per function (upstream's shape); traits
 * `CUSTOM_FPGA_XILINX` and `CUSTOM_FPGA_PRODUCT_ID_<product>`. sysfs tells which function is
 * the management one (bound to xclmgmt), which `xbmgmt program` is pointed at.
 */
export class XilinxFpgaDriver implements AcceleratorDriver {
  readonly name = XILINX_FPGA_DRIVER;

  constructor(private readonly options: XilinxFpgaDriverOptions) {}

  async discover(options: DriverCallOptions = {}): Promise<Discovery> {
    const cards = await this.cards(options.signal);
    const devices = cards.map((card) => this.device(card));
    return { devices, warnings: [] };
  }

  async program(
    deployable: Pick<DiscoveredDeployable, 'name'>,
    bitstream: Bitstream,
    options: DriverCallOptions = {},
  ): Promise<ProgramResult> {
    const { signal } = options;
    signal?.throwIfAborted();
    let cards: XilinxCard[];
    try {
      cards = await this.cards(signal);
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      return { ok: false, reason: errorMessage(error) };
    }
    const card = cards.find((c) => this.deployableName(c) === deployable.name);
    if (!card) return { ok: false, reason: `no Xilinx FPGA deployable ${deployable.name} on this host` };
    return programWithTool(bitstream, {
      path: this.options.xbmgmtPath,
      // Upstream joins the address with ':' only (`0000:d8:00:0`), which xbmgmt does not take.
      args: ['program', '--device', card.management.bdf, '--base', '--image', bitstream.path],
      timeoutMs: this.options.programTimeoutMs ?? DEFAULT_PROGRAM_TIMEOUT_MS,
      signal,
    });
  }

  /** The host's Alveo cards; `lspci` failing means the host cannot be read at all. */
  private async cards(signal: AbortSignal | undefined): Promise<XilinxCard[]> {
    signal?.throwIfAborted();
    const { lspciPath } = this.options;
    const timeoutMs = this.options.toolTimeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS;
    let text: string;
    try {
      const result = await runTool(lspciPath, LSPCI_ARGS, { signal, timeoutMs });
      const failure = toolFailure(lspciPath, result, timeoutMs);
      if (failure) throw new Error(failure);
      text = result.stdout;
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      throw new DiscoveryFailedError(this.name, [errorMessage(error)]);
    }
    const xilinx = parseLspci(text).filter(
      (f) => f.vendor === XILINX_VENDOR && f.classCode.startsWith(ACCELERATOR_CLASS),
    );
    // The functions of one slot (domain:bus:device) are one card.
    const slots = new Map<string, LspciFunction[]>();
    for (const f of xilinx) {
      const slot = f.bdf.slice(0, f.bdf.lastIndexOf('.'));
      slots.set(slot, [...(slots.get(slot) ?? []), f]);
    }
    const cards: XilinxCard[] = [];
    for (const functions of slots.values()) {
      functions.sort((a, b) => (a.bdf < b.bdf ? -1 : 1));
      const drivers = await Promise.all(
        functions.map(async (f) => {
          const fn = await readPciFunction(this.options.sysfsRoot, f.bdf);
          return 'problem' in fn ? null : fn.driver;
        }),
      );
      const managed = functions.find((_, i) => drivers[i] === MANAGEMENT_DRIVER);
      cards.push({ functions, management: managed ?? functions[0] });
    }
    signal?.throwIfAborted();
    return cards.sort((a, b) => (a.functions[0].bdf < b.functions[0].bdf ? -1 : 1));
  }

  /** Upstream's name: the host and the card's first function. */
  private deployableName(card: XilinxCard): string {
    return `${this.options.hostname}_${card.functions[0].bdf}`;
  }

  private device(card: XilinxCard): DiscoveredDevice {
    const first = card.functions[0];
    return {
      type: 'FPGA',
      vendor: first.vendor,
      model: first.model || 'miss model info',
      std_board_info: pythonJsonDumps({ product_id: first.product, controller: first.controller }),
      vendor_board_info: pythonJsonDumps({ vendor_info: 'fpga_vb_info' }),
      controlPathId: { type: 'PCI', info: { ...first.address } },
      driverName: XILINX_FPGA_DRIVER,
      deployables: [
        {
          name: this.deployableName(card),
          numAccelerators: 1,
          driverName: DEPLOYABLE_DRIVER_NAME,
          attributes: deployableAttributes('FPGA', [
            'CUSTOM_FPGA_XILINX',
            `CUSTOM_FPGA_PRODUCT_ID_${nameSuffix(first.product)}`,
          ]),
          attachHandles: card.functions.map((f) => ({ type: 'PCI' as const, info: pciAttachInfo(f.address) })),
        },
      ],
    };
  }
}
