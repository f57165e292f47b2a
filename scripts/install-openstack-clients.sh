#!/usr/bin/env bash
# Installs the real OpenStack accelerator clients from Debian when missing:
# python3-openstackclient (the `openstack` CLI), python3-cyborgclient (its
# `accelerator` commands) and python3-openstacksdk. Used by the test setup.
set -euo pipefail
if dpkg -s python3-openstackclient python3-cyborgclient python3-openstacksdk >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "install-openstack-clients: the clients are missing and this is not root" >&2
  exit 1
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  python3-openstackclient python3-cyborgclient python3-openstacksdk >/dev/null
