import {
  DiscoveryFailedError,
  type AcceleratorDriver,
  type Bitstream,
  type Discovery,
  type DriverCallOptions,
  type ProgramResult,
} from '../driver';
import { fpgaCardHealth } from '../fpga-health';
import { programWithTool } from '../fpga-programming';
import { combineHealth } from '../health';
import type { DiscoveredDeployable, DiscoveredDevice } from '../inventory';
import { pciAttachInfo, pythonJsonDumps } from '../pci';
import { pciHealth } from '../pci-health';
import { deployableAttributes, nameSuffix } from '../placement-names';
import { errorMessage, readPciFunction, type PciFunction } from '../sysfs';
import { readTopology, topologyAttributes, topologyTraits } from '../topology';
import { DEFAULT_PROGRAM_TIMEOUT_MS, DEFAULT_TOOL_TIMEOUT_MS, runTool, toolFailure } from '../tool';
import { LSPCI_ARGS, parseLspci, type LspciFunction } from './lspci';

export const XILINX_FPGA_DRIVER = 'xilinx_fpga';
/**
 * XRT's user-side tool. `xrt-smi` since XRT 2024.2 (`xbutil` before it, removed in 2025.1); both
 * take `program --device <user bdf> --user <xclbin>`, so a path to either works.
 */
export const DEFAULT_XRT_SMI_PATH = '/opt/xilinx/xrt/bin/xrt-smi';
export const DEFAULT_LSPCI_PATH = 'lspci';
const XILINX_VENDOR = '10ee';
/** `Processing accelerators`: Alveo cards' class. */
const ACCELERATOR_CLASS = '12';
/** XRT's management PF driver; `xocl` drives the user PF, the one an xclbin is loaded through. */
const MANAGEMENT_DRIVER = 'xclmgmt';
const USER_DRIVER = 'xocl';
const DEPLOYABLE_DRIVER_NAME = 'XILINX';

export interface XilinxFpgaDriverOptions {
  hostname: string;
  sysfsRoot: string;
  lspciPath: string;
  /** `xrt-smi` (or `xbutil` of XRT 2021.1 to 2024.2), which loads an xclbin through the user PF. */
  xrtSmiPath: string;
  toolTimeoutMs?: number;
  programTimeoutMs?: number;
}

/** One card: its functions in one PCI slot, which one XRT manages it through, which one users load xclbins through. */
interface XilinxCard {
  functions: LspciFunction[];
  management: LspciFunction;
  /** The function bound to xocl; null when none is (the user PF is given to a guest on vfio-pci). */
  user: LspciFunction | null;
  /** sysfs of each function, null where it cannot be read. */
  sysfs: (PciFunction | null)[];
}

/**
 * Xilinx (AMD) Alveo cards from `lspci -nnn -D` (vendor 10ee, processing accelerators), as
 * upstream finds them. The management PF and the user PF of one slot are one device with one
 * deployable of one accelerator and a PCI handle per function (upstream's shape); traits
 * `CUSTOM_FPGA_XILINX` and `CUSTOM_FPGA_PRODUCT_ID_<product>`, with the card's NUMA node and
 * PCIe root. Programming loads the user's xclbin into the card's dynamic region through the
 * user PF (bound to xocl): `xrt-smi program --device <user bdf> --user <xclbin>` (XRT 2024.2
 * and later; `xbutil`, same arguments, in XRT 2021.1 to 2024.2). Upstream runs `xbmgmt program
 * --base`, which flashes the card's base partition (firmware that needs a cold reboot), not a
 * user's function. Health: AER and link of each function, hwmon sensors below them.
 */
export class XilinxFpgaDriver implements AcceleratorDriver {
  readonly name = XILINX_FPGA_DRIVER;

  constructor(private readonly options: XilinxFpgaDriverOptions) {}

  async discover(options: DriverCallOptions = {}): Promise<Discovery> {
    const cards = await this.cards(options.signal);
    const devices = await Promise.all(cards.map((card) => this.device(card)));
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
    if (!card.user) {
      const drivers = card.functions.map((f, i) => `${f.bdf} on ${card.sysfs[i]?.driver ?? 'no driver'}`).join(', ');
      return {
        ok: false,
        reason: `Xilinx FPGA ${deployable.name} has no user function on ${USER_DRIVER} to load an xclbin through (${drivers})`,
      };
    }
    return programWithTool(bitstream, {
      path: this.options.xrtSmiPath,
      // XRT 2024.2 `xrt-smi program [--device|-d] <user bdf> [--user|-u] <xclbin>`, as `xbutil` of 2021.1 to 2024.2.
      args: ['program', '--device', card.user.bdf, '--user', bitstream.path],
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
      const sysfs = await Promise.all(
        functions.map(async (f) => {
          const fn = await readPciFunction(this.options.sysfsRoot, f.bdf);
          return 'problem' in fn ? null : fn;
        }),
      );
      const managed = functions.find((_, i) => sysfs[i]?.driver === MANAGEMENT_DRIVER);
      const user = functions.find((_, i) => sysfs[i]?.driver === USER_DRIVER) ?? null;
      cards.push({ functions, management: managed ?? functions[0], user, sysfs });
    }
    signal?.throwIfAborted();
    return cards.sort((a, b) => (a.functions[0].bdf < b.functions[0].bdf ? -1 : 1));
  }

  /** Upstream's name: the host and the card's first function. */
  private deployableName(card: XilinxCard): string {
    return `${this.options.hostname}_${card.functions[0].bdf}`;
  }

  private async device(card: XilinxCard): Promise<DiscoveredDevice> {
    const first = card.functions[0];
    const functions = card.sysfs.filter((f): f is PciFunction => f !== null);
    const topology = functions[0] ? await readTopology(functions[0]) : { numaNode: null, pcieRoot: null };
    const health = combineHealth([
      ...(await Promise.all(functions.map((f) => pciHealth(f)))),
      ...(await Promise.all(functions.map((f) => fpgaCardHealth(f.path)))),
    ]);
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
          attributes: [
            ...deployableAttributes('FPGA', [
              'CUSTOM_FPGA_XILINX',
              `CUSTOM_FPGA_PRODUCT_ID_${nameSuffix(first.product)}`,
              ...topologyTraits(topology),
            ]),
            ...topologyAttributes(topology),
          ],
          attachHandles: card.functions.map((f) => ({ type: 'PCI' as const, info: pciAttachInfo(f.address) })),
        },
      ],
      health,
    };
  }
}
