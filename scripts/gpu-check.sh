#!/bin/sh
# Read-only check of a GPU host: runs the agent's discovery against this host's sysfs and
# nvidia-smi, and prints the inventory the agent would report and the health it sees.
# It changes nothing: no MIG mode switch, no vGPU type written, no mdev created (discovery
# only reads sysfs and runs `nvidia-smi -q -x`).
#
#   scripts/gpu-check.sh                 # text
#   scripts/gpu-check.sh --json          # {hostname, devices, warnings}
#
# Settings as the agent's: AGENT_SYSFS_ROOT (default /sys), AGENT_NVIDIA_SMI_PATH,
# AGENT_NVIDIA_VGPU_TYPES (which vGPU types to offer), AGENT_NVIDIA_XID_LOG, AGENT_PCI_DEVICE_SPEC.
# GPU_CHECK_DRIVERS picks the drivers (default nvidia_gpu); CYBORG_CLI a built CLI
# (default dist/apps/cli/main.js, built first when missing).
set -eu
root=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)
cli=${CYBORG_CLI:-$root/dist/apps/cli/main.js}
if [ ! -f "$cli" ]; then
  (cd "$root" && npm run build --silent)
fi
case " $* " in
  *" --json "*) ;;
  *)
    echo "sysfs: ${AGENT_SYSFS_ROOT:-/sys}  nvidia-smi: ${AGENT_NVIDIA_SMI_PATH:-nvidia-smi}  kernel: $(uname -r)"
    ;;
esac
exec node "$cli" discover --drivers "${GPU_CHECK_DRIVERS:-nvidia_gpu}" "$@"
