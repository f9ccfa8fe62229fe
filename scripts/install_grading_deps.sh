#!/usr/bin/env bash
# Install what `course grade` and its tests (tests/grading/) need from Debian:
#   postgresql   the server binaries (initdb, pg_ctl): the tests start a throwaway
#                server of their own on 127.0.0.1 and stop it; no service is enabled
#   util-linux   unshare (the sandbox's namespaces), setpriv, prlimit
#   openssh-server  sshd for the SSH-started Dask cluster test, which runs its own server on
#                loopback addresses; the package's own service is kept from starting
# Only when something is missing; needs root and apt-get. Unlike the browser, these
# are not optional: the grading tests fail (they do not skip) without them, so this
# script exits 1 when it cannot install them.
set -u

missing=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v unshare >/dev/null 2>&1 || missing+=(util-linux)
command -v runuser >/dev/null 2>&1 || missing+=(util-linux)
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "install_grading_deps: missing ${missing[*]}; install them as root with apt-get" \
         "(Debian/Ubuntu packages: ${missing[*]})" >&2
    exit 1
fi
echo "install_grading_deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# no package may start a service while installing (openssh-server would listen on port 22)
policy=/usr/sbin/policy-rc.d
own_policy=0
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy" && own_policy=1
fi
apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
status=$?
[ "$own_policy" = 1 ] && rm -f "$policy"
# Debian's postgresql package starts a cluster on port 5432; the tests do not use it
if command -v pg_ctlcluster >/dev/null 2>&1 && command -v service >/dev/null 2>&1; then
    service postgresql stop >/dev/null 2>&1 || true
fi
exit $status
