#!/usr/bin/env bash
# Runs the deploy kit for real against four hosts made of Linux namespaces, then proves the
# cluster it deployed serves writes and survives a rolling restart under writes.
#
#   sudo bash cluster/deploy/try-in-namespaces.sh          (from the repository root)
#   STOA=path/to/stoa bash cluster/deploy/try-in-namespaces.sh
#
# Hosts: n1, n2, n3 (nodes, 10.77.0.11-13), gw (gateway, 10.77.0.20) and ctl (the control
# machine, 10.77.0.200), each its own network namespace on a bridge that lives in a namespace of
# its own (nothing is added to this machine's network). Each target host runs its own sshd, in a
# private mount namespace where /opt/stoa, /etc/stoa, /var/lib/stoa, /etc/systemd/system and
# /run/stoa-unit are that host's own folders; Ansible (ansible-core from pip, in ctl) connects to
# them over SSH as root and runs site.yml, then rolling-restart.yml. The rest of the file system
# (users in /etc/passwd among it) is shared by the hosts.
#
# What is not real: systemd is not PID 1 here, so the inventory sets stoa_service_manager=direct
# and the units are run by roles/stoa/files/stoa-unit, which applies their User=, Group=,
# EnvironmentFile=, ExecStart=, WorkingDirectory=, UMask=, NoNewPrivileges=, the capability
# lines and Restart=on-failure, but not their file-system and kernel sandboxing
# (ProtectSystem=, PrivateTmp=, ...); the playbook checks the units with `systemd-analyze verify`.
#
# Everything made is removed at the end (also on failure or Ctrl-C); logs are kept in
# .build/deploy-proof/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
repo=$(pwd)

say() { printf '[%5ss] %s\n' "$SECONDS" "$*"; }
die() { say "FAILED: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "needs root (network and mount namespaces)"
STOA=${STOA:-.build/debug/stoa}
[ -x "$STOA" ] || die "no stoa binary at $STOA (swift build --product stoa, or set STOA=)"
STOA=$(readlink -f "$STOA")
need=()
command -v ip >/dev/null || need+=(iproute2)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh >/dev/null || need+=(openssh-client)
command -v unshare >/dev/null || need+=(util-linux)
python3 -c 'import ensurepip, venv' 2>/dev/null || need+=(python3-venv)
if [ ${#need[@]} -gt 0 ]; then
    say "installing ${need[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
venv=.build/deployvenv
if [ ! -x "$venv/bin/ansible-playbook" ]; then
    say "installing ansible-core into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check 'ansible-core>=2.16,<2.20'
fi
ansible_version=$("$venv/bin/ansible-playbook" --version)
say "${ansible_version%%$'\n'*}"

prefix="stoa-dp$$"
work=$(mktemp -d /tmp/stoa-deploy-XXXXXX)
logs=$repo/.build/deploy-proof
rm -rf "$logs"; mkdir -p "$logs"
hosts=(n1 n2 n3 gw)
declare -A addr=([n1]=10.77.0.11 [n2]=10.77.0.12 [n3]=10.77.0.13 [gw]=10.77.0.20 [ctl]=10.77.0.200)
mounts=(/opt/stoa /etc/stoa /var/lib/stoa /etc/systemd/system /run/stoa-unit)
made_mountpoints=()
namespaces=()
# The playbook creates the user stoa; /etc/passwd is shared by the hosts, so it lands on this
# machine: removed again at the end when it was not there before.
had_user=0
id stoa >/dev/null 2>&1 && had_user=1

cleanup() {
    local status=$?
    set +e
    for ns in "${namespaces[@]}"; do
        for _ in 1 2 3 4 5; do
            pids=$(ip netns pids "$ns" 2>/dev/null)
            [ -z "$pids" ] && break
            kill -9 $pids 2>/dev/null
            sleep 0.2
        done
    done
    for ns in "${namespaces[@]}"; do ip netns del "$ns" 2>/dev/null; done
    for m in "${made_mountpoints[@]}"; do rmdir "$m" 2>/dev/null; done
    if [ "$had_user" -eq 0 ] && id stoa >/dev/null 2>&1; then userdel stoa 2>/dev/null; groupdel stoa 2>/dev/null; fi
    for h in "${hosts[@]}"; do
        for f in "$work/hosts/$h/run-stoa-unit/"*.log; do [ -f "$f" ] && cp "$f" "$logs/$h-$(basename "$f")"; done
        cp "$work/hosts/$h/sshd.log" "$logs/$h-sshd.log" 2>/dev/null
    done
    rm -rf "$work"
    left=$(ip netns list | grep -c "^$prefix-" || true)
    if [ "$status" -eq 0 ]; then
        say "cleaned up (namespaces left: $left); logs in $logs"
    else
        say "cleaned up after a failure (namespaces left: $left); logs in $logs"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the hosts -------------------------------------------------------------------------------
ip netns add "$prefix-sw"; namespaces+=("$prefix-sw")
ip -n "$prefix-sw" link add br0 type bridge
ip -n "$prefix-sw" link set br0 up
i=0
for h in "${hosts[@]}" ctl; do
    ns="$prefix-$h"
    ip netns add "$ns"; namespaces+=("$ns")
    ip -n "$prefix-sw" link add "p$i" type veth peer name eth0 netns "$ns"
    ip -n "$prefix-sw" link set "p$i" master br0 up
    ip -n "$ns" addr add "${addr[$h]}/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" link set lo up
    i=$((i + 1))
done
say "hosts: $(for h in "${hosts[@]}" ctl; do printf '%s %s  ' "$h" "${addr[$h]}"; done)(namespaces $prefix-*)"

for m in "${mounts[@]}"; do
    if [ ! -e "$m" ]; then mkdir -p "$m"; made_mountpoints+=("$m"); fi
done
mkdir -p /run/sshd "$work/ssh"
ssh-keygen -q -t ed25519 -N '' -f "$work/ssh/id" -C stoa-deploy-proof
ssh-keygen -q -t ed25519 -N '' -f "$work/ssh/hostkey"
cp "$work/ssh/id.pub" "$work/ssh/authorized_keys"
: >"$work/ssh/known_hosts"
for h in "${hosts[@]}"; do
    hd="$work/hosts/$h"
    mkdir -p "$hd"/{opt-stoa,etc-stoa,var-lib-stoa,systemd,run-stoa-unit}
    cat >"$hd/sshd_config" <<EOF
ListenAddress ${addr[$h]}
Port 22
HostKey $work/ssh/hostkey
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
AuthorizedKeysFile $work/ssh/authorized_keys
StrictModes no
UsePAM no
PidFile $hd/sshd.pid
Subsystem sftp /usr/lib/openssh/sftp-server
EOF
    # The host's own folders, seen only by this sshd and what it starts (Ansible's tasks, the
    # supervisor, the service).
    ip netns exec "$prefix-$h" unshare --mount --propagation private sh -c "
        mount --bind '$hd/opt-stoa' /opt/stoa &&
        mount --bind '$hd/etc-stoa' /etc/stoa &&
        mount --bind '$hd/var-lib-stoa' /var/lib/stoa &&
        mount --bind '$hd/systemd' /etc/systemd/system &&
        mount --bind '$hd/run-stoa-unit' /run/stoa-unit &&
        exec /usr/sbin/sshd -D -e -f '$hd/sshd_config'" >"$hd/sshd.log" 2>&1 &
    disown $!
    echo "${addr[$h]} $(cut -d' ' -f1,2 "$work/ssh/hostkey.pub")" >>"$work/ssh/known_hosts"
done
for h in "${hosts[@]}"; do
    ok=0
    for _ in $(seq 1 100); do
        if ip netns exec "$prefix-ctl" ssh -q -i "$work/ssh/id" -o UserKnownHostsFile="$work/ssh/known_hosts" \
            -o BatchMode=yes -o ConnectTimeout=2 "root@${addr[$h]}" true 2>/dev/null; then ok=1; break; fi
        sleep 0.1
    done
    [ "$ok" -eq 1 ] || { cat "$work/hosts/$h/sshd.log"; die "sshd on $h does not answer"; }
done
say "sshd answers on n1, n2, n3 and gw (each with its own /opt/stoa, /etc/stoa, /var/lib/stoa, /etc/systemd/system)"

# The binary to install: a copy without debug sections (a debug build is ~160 MB and Ansible
# copies it to every host over SSH).
objcopy --strip-debug "$STOA" "$work/stoa" 2>/dev/null || cp "$STOA" "$work/stoa"
say "installing $STOA ($(du -m "$work/stoa" | cut -f1) MB as deployed)"

# --- the inventory, as an operator would write it ----------------------------------------------
cat >"$work/hosts.yml" <<EOF
all:
  vars:
    ansible_user: root
    ansible_become: false
    ansible_ssh_private_key_file: $work/ssh/id
    ansible_ssh_common_args: -o UserKnownHostsFile=$work/ssh/known_hosts -o StrictHostKeyChecking=yes
    ansible_python_interpreter: /usr/bin/python3
    stoa_binary_src: $work/stoa
    stoa_service_manager: direct
    stoa_node_args: --bcrypt-cost 4
  children:
    stoa_nodes:
      hosts:
        n1: { ansible_host: ${addr[n1]}, stoa_address: ${addr[n1]} }
        n2: { ansible_host: ${addr[n2]}, stoa_address: ${addr[n2]} }
        n3: { ansible_host: ${addr[n3]}, stoa_address: ${addr[n3]} }
    stoa_gateways:
      hosts:
        gw: { ansible_host: ${addr[gw]}, stoa_address: ${addr[gw]}, stoa_gateway_http: "0.0.0.0:8090", stoa_gateway_args: --no-rate-limit }
EOF
umask 077
printf 'stoa_cluster_key: "%s"\nstoa_token_secret: "%s"\n' "$(openssl rand -hex 32)" "$(openssl rand -hex 32)" >"$work/secrets.yml"
umask 022
cp "$work/hosts.yml" "$logs/inventory.yml"

in_ctl() { ip netns exec "$prefix-ctl" env ANSIBLE_CONFIG="$repo/cluster/deploy/ansible.cfg" ANSIBLE_FORCE_COLOR=0 "$@"; }

say "ansible-playbook site.yml (install, secrets, units, start)"
t0=$SECONDS
in_ctl "$venv/bin/ansible-playbook" -i "$work/hosts.yml" cluster/deploy/site.yml -e "@$work/secrets.yml" \
    >"$logs/site.log" 2>&1 || { tail -n 60 "$logs/site.log"; die "site.yml failed (whole output: $logs/site.log)"; }
grep -A8 '^PLAY RECAP' "$logs/site.log"
say "site.yml done in $((SECONDS - t0)) s"

# What the playbook left on a host: owners and modes of the secrets, the service's user.
say "on n1 and gw, as installed:"
for h in n1 gw; do
    in_ctl ssh -q -i "$work/ssh/id" -o UserKnownHostsFile="$work/ssh/known_hosts" "root@${addr[$h]}" \
        "stat -c '  $h %A %U:%G %n' /etc/stoa/secrets/* /etc/stoa/*.env /opt/stoa/bin/stoa; ps -o user=,pid=,args= -C stoa | sed 's/^/  $h process: /' | cut -c1-200"
done

# --- the deployed cluster serves writes ------------------------------------------------------
check() {
    in_ctl python3 - "$@" <<'EOF'
import json, sys, threading, time, urllib.request, urllib.error
mode = sys.argv[1]
nodes = {"n1": "http://10.77.0.11:8090", "n2": "http://10.77.0.12:8090", "n3": "http://10.77.0.13:8090"}
gateway = "http://10.77.0.20:8090"

def call(method, url, body=None, token=None, timeout=5):
    req = urllib.request.Request(url, data=None if body is None else json.dumps(body).encode(), method=method)
    req.add_header("content-type", "application/json")
    if token: req.add_header("authorization", token)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r: return r.status, json.load(r)
    except urllib.error.HTTPError as e: return e.code, json.loads(e.read() or b"null")

def until(f, timeout=60):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            v = f()
            if v: return v
        except Exception: pass
        time.sleep(0.25)
    return None

def digests():
    return {n: call("GET", u + "/api/cluster?digest=1")[1]["digest"] for n, u in nodes.items()}

def ids(url, token):
    found, page = set(), 1
    while True:
        s, b = call("GET", url + f"/api/collections/quotes/records?perPage=500&page={page}&fields=id&skipTotal=1", token=token, timeout=20)
        if s != 200: raise OSError(f"list on {url}: {s}")
        found.update(i["id"] for i in b["items"])
        if len(b["items"]) < 500: return found
        page += 1

def agreed():
    for n, u in nodes.items():
        states = {m["name"]: m["status"] for m in call("GET", u + "/api/cluster")[1]["members"]}
        if any(states.get(o) != "alive" for o in list(nodes) + ["gateway"] if o != n): return False
    return True

def fail(msg):
    print("FAILED: " + msg)
    for n, u in nodes.items():  # what each node reports, for the diagnosis
        try:
            c = call("GET", u + "/api/cluster")[1]
            print(f"  {n}: members {[(m['name'], m['status'], m.get('lag')) for m in c['members']]}, "
                  f"vector {json.dumps(c['versionVector'])}, counters {json.dumps(c['counters'])}")
        except Exception as e:
            print(f"  {n}: /api/cluster failed: {e}")
    sys.exit(1)

if mode == "serve":
    if not until(agreed): fail("membership not agreed")
    print("  membership agreed: every node sees the other two and the gateway alive")
    s, _ = call("POST", gateway + "/api/collections/users/records", {"email": "ann@example.com", "password": "12345678", "passwordConfirm": "12345678"})
    if s != 200: fail(f"sign-up through the gateway: {s}")
    s, b = call("POST", gateway + "/api/collections/users/auth-with-password", {"identity": "ann@example.com", "password": "12345678"})
    if s != 200: fail(f"log-in: {s}")
    token = b["token"]
    open(sys.argv[2], "w").write(token)
    s, q = call("POST", nodes["n1"] + "/api/collections/quotes/records", {"content": "Waste no more time arguing what a good man should be. Be one.", "author": "Marcus Aurelius"}, token)
    if s != 200: fail(f"write on n1: {s}")
    print(f"  wrote quote {q['id']} on n1")
    for n in ("n2", "n3"):
        got = until(lambda: call("GET", f"{nodes[n]}/api/collections/quotes/records/{q['id']}", token=token)[0] == 200, 30)
        if not got:
            record_url = nodes[n] + "/api/collections/quotes/records/" + q["id"]
            fail(f"{n} does not have it (GET: {call('GET', record_url, token=token)})")
        print(f"  read it on {n}: {call('GET', nodes[n] + '/api/collections/quotes/records/' + q['id'], token=token)[1]['content'][:40]}...")
    s, b = call("GET", gateway + f"/api/collections/quotes/records/{q['id']}", token=token)
    if s != 200: fail("not through the gateway")
    print("  read it through the gateway")
    d = until(lambda: (lambda d: d if len(set(d.values())) == 1 else None)(digests()))
    if not d: fail(f"digests differ: {digests()}")
    print(f"  digests equal on n1, n2, n3: {next(iter(d.values()))[:16]}...")
elif mode == "load":
    # Writes through the gateway and to every node until the stop file appears; acknowledged ids to a file.
    token = open(sys.argv[2]).read().strip()
    stop, out = sys.argv[3], sys.argv[4]
    import os
    acked, failed, i = [], {}, 0
    targets = {"gateway": gateway, **nodes}
    names = list(targets)
    while not os.path.exists(stop):
        name = names[i % len(names)]; i += 1
        try:
            s, b = call("POST", targets[name] + "/api/collections/quotes/records", {"content": f"rolling {i}"}, token)
            if s == 200: acked.append(b["id"])
            else: failed[name] = failed.get(name, 0) + 1
        except OSError:
            failed[name] = failed.get(name, 0) + 1
        time.sleep(0.02)
    json.dump({"acked": acked, "failed": failed, "attempts": i}, open(out, "w"))
elif mode == "verify":
    token = open(sys.argv[2]).read().strip()
    result = json.load(open(sys.argv[3]))
    acked = set(result["acked"])
    if not until(agreed): fail("membership not agreed after the rolling restart")
    print("  membership agreed after the rolling restart")
    d = until(lambda: (lambda d: d if len(set(d.values())) == 1 else None)(digests()))
    if not d: fail(f"digests differ: {digests()}")
    print(f"  digests equal on n1, n2, n3: {next(iter(d.values()))[:16]}...")
    for n, u in nodes.items():
        missing = acked - ids(u, token)
        if missing: fail(f"{n} lacks {len(missing)} acknowledged writes")
    print(f"  all {len(acked)} writes acknowledged during the rolling restart ({result['attempts']} attempts) are on n1, n2 and n3")
    print(f"  failed attempts by target (a node is down for its restart; the one gateway too): {result['failed'] or 'none'}")
EOF
}

say "the deployed cluster serves writes:"
check serve "$work/token" || die "the deployed cluster does not serve"

say "rolling restart under writes (ansible-playbook rolling-restart.yml; a writer hits the gateway and every node)"
rm -f "$work/stop"
check load "$work/token" "$work/stop" "$work/load.json" &
load_pid=$!
sleep 2
t0=$SECONDS
in_ctl "$venv/bin/ansible-playbook" -i "$work/hosts.yml" cluster/deploy/rolling-restart.yml -e "@$work/secrets.yml" \
    >"$logs/rolling-restart.log" 2>&1 || { touch "$work/stop"; tail -n 60 "$logs/rolling-restart.log"; die "rolling-restart.yml failed (whole output: $logs/rolling-restart.log)"; }
grep -E '^(TASK \[Restart|TASK \[Wait|ok: \[n[0-9]\] =>|    "msg": )|caught up' "$logs/rolling-restart.log" | sed 's/^/  /' || true
grep -A8 '^PLAY RECAP' "$logs/rolling-restart.log"
say "rolling-restart.yml done in $((SECONDS - t0)) s"
sleep 2
touch "$work/stop"
wait "$load_pid" || die "the writer failed"
check verify "$work/token" "$work/load.json" || die "the cluster lost writes or did not converge"
say "deploy proof passed"
