#!/usr/bin/env bash
# Install the browser that the end-to-end tests (tests/browser/) drive: Debian's
# chromium package, with apt-get, when it is missing and we are root. Playwright
# talks to Chromium directly (DevTools protocol), so chromium-driver is not needed.
#
# It never fails the build: where it cannot install (not root, no apt-get, no
# network) it says why and exits 0; the browser tests then skip and say so.
# Playwright's own browser download is not used (it needs a CDN that CI may not reach).
set -u

have_browser() {
    for name in chromium chromium-browser google-chrome google-chrome-stable; do
        command -v "$name" >/dev/null 2>&1 && return 0
    done
    return 1
}

if [ -n "${COURSE_CHROMIUM:-}" ]; then
    if [ -x "${COURSE_CHROMIUM}" ]; then
        echo "install_browser: using COURSE_CHROMIUM=${COURSE_CHROMIUM}"
    else
        echo "install_browser: COURSE_CHROMIUM=${COURSE_CHROMIUM} is not an executable; the browser tests will skip." >&2
    fi
    exit 0
fi
if have_browser; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "install_browser: Chromium is missing and this is not root; install the package" \
         "'chromium' (Debian) or set COURSE_CHROMIUM; the browser tests will skip." >&2
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_browser: Chromium is missing and there is no apt-get here; the browser tests will skip." >&2
    exit 0
fi

echo "install_browser: installing chromium with apt-get"
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
if ! { apt-get update -qq \
       && apt-get install -y -qq --no-install-recommends chromium fonts-liberation; } \
        >"$log" 2>&1; then
    echo "install_browser: apt-get failed (log: $log); the browser tests will skip." >&2
    tail -n 5 "$log" >&2
    exit 0
fi
have_browser && echo "install_browser: $(command -v chromium || command -v chromium-browser) installed"
exit 0
