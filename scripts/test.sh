#!/usr/bin/env bash
# The whole test set-up and the suite, on a fresh machine: the README's test command, and what
# CI runs (.ci/run calls exactly this). Tests read real images from ../shared/datasets.
set -euo pipefail
cd "$(dirname "$0")/.."
# The browser test drives the page of 'wbc serve' in Debian's headless Chromium.
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
fi
# Chromium is there now, so a browser test that cannot start is a failure, not a skip.
WBC_REQUIRE_BROWSER=1 mvn -B test "$@"
