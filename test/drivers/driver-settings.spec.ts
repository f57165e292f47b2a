import { loadSettings } from '@cyborg/config';
import { createDrivers, DriverConfigurationError, DRIVER_NAMES, UnknownDriverError } from '@cyborg/drivers';

/** The agent's settings for the real drivers: validated at start, each reaching its driver. */
describe('settings of the real drivers', () => {
  it('default to the real host: /sys, tools on the PATH or where their packages put them, nothing offered', () => {
    expect(loadSettings({})).toMatchObject({
      AGENT_SYSFS_ROOT: '/sys',
      AGENT_PCI_DEVICE_SPEC: '[]',
      AGENT_NVIDIA_VGPU_TYPES: '',
      AGENT_NVIDIA_SMI_PATH: 'nvidia-smi',
      AGENT_LSPCI_PATH: 'lspci',
      AGENT_FPGACONF_PATH: '/usr/bin/fpgaconf',
      AGENT_XRT_SMI_PATH: '/opt/xilinx/xrt/bin/xrt-smi',
      AGENT_NVIDIA_XID_LOG: '',
    });
  });

  it('stop the agent at start with a message naming a malformed value', () => {
    expect(() => loadSettings({ AGENT_PCI_DEVICE_SPEC: '[{"address": ' })).toThrow(
      /AGENT_PCI_DEVICE_SPEC must be a JSON list of Nova device_spec objects/,
    );
    expect(() => loadSettings({ AGENT_NVIDIA_VGPU_TYPES: 'nvidia-223@3b:00.0' })).toThrow(/AGENT_NVIDIA_VGPU_TYPES/);
    expect(() => loadSettings({ AGENT_SYSFS_ROOT: '' })).toThrow(/AGENT_SYSFS_ROOT/);
    expect(
      loadSettings({ AGENT_NVIDIA_VGPU_TYPES: 'nvidia-223, nvidia-182@0000:5e:00.0', AGENT_NVIDIA_SMI_PATH: '' }),
    ).toMatchObject({ AGENT_NVIDIA_VGPU_TYPES: 'nvidia-223, nvidia-182@0000:5e:00.0', AGENT_NVIDIA_SMI_PATH: '' });
  });

  it('build every known driver, and refuse a whitelist that is JSON but not a valid device spec', () => {
    expect(createDrivers(DRIVER_NAMES, { hostname: 'h' }).map((d) => d.name)).toEqual([
      'fake',
      'simulated',
      'pci',
      'nvidia_gpu',
      'intel_fpga',
      'xilinx_fpga',
    ]);
    const settings = loadSettings({
      AGENT_PCI_DEVICE_SPEC: '[{"vendor_id": "10de", "devname": "eth0", "address": "*"}]',
    });
    expect(() => createDrivers(['pci'], { hostname: 'h', pciDeviceSpec: settings.AGENT_PCI_DEVICE_SPEC })).toThrow(
      DriverConfigurationError,
    );
    expect(() => createDrivers(['nvidia'], { hostname: 'h' })).toThrow(UnknownDriverError);
  });
});
