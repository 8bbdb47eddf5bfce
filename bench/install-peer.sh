#!/usr/bin/env bash
# Installs what `wbc bench` needs beyond the project's own build, all from Debian's packages:
#  - the PyTorch peer (bench/peer.py): python3-torch and python3-torchvision for the system
#    Python, /usr/bin/python3 (a pyenv or venv python3 on PATH is not used);
#  - the allocator levers (WBC_MALLOC=jemalloc or tcmalloc in bin/wbc): libjemalloc2 and
#    libtcmalloc-minimal4.
# Does nothing for what is already there. Needs root or sudo for apt-get.
set -euo pipefail
py=/usr/bin/python3
arch_lib=/usr/lib/x86_64-linux-gnu
[ -d "$arch_lib" ] || arch_lib="/usr/lib/$(uname -m)-linux-gnu"
pkgs=()
if [ -x "$py" ] && "$py" -c 'import torch, torchvision' 2>/dev/null; then
  echo "install-peer: torch $("$py" -c 'import torch; print(torch.__version__)') already installed for $py"
else
  pkgs+=(python3 python3-torch python3-torchvision)
fi
[ -e "$arch_lib/libjemalloc.so.2" ] || pkgs+=(libjemalloc2)
[ -e "$arch_lib/libtcmalloc_minimal.so.4" ] || pkgs+=(libtcmalloc-minimal4)
if [ ${#pkgs[@]} -eq 0 ]; then
  echo "install-peer: nothing to install"
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "install-peer: error: need root or sudo to run apt-get install ${pkgs[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -q
"${as_root[@]}" apt-get install -y -q --no-install-recommends "${pkgs[@]}"
"$py" -c 'import torch, torchvision; print("install-peer: torch", torch.__version__, "torchvision", torchvision.__version__)'
