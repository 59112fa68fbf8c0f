#!/usr/bin/env bash
# kiln's GPU check (docs/gpu-check.md): real kiln-agent probe/labels/doctor, a lease whose child
# reports the device it sees, and the interference monitor against a real foreign GPU process and
# against kiln's own grandchild. Needs nvidia-smi, python3 with PyTorch (CUDA) and a built
# checkout (`npm ci && npm run build`); no TensorRT. Run from anywhere; exits 0 only if every step
# passed. Each step is bounded by `timeout`; the whole check takes about two minutes.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT" || exit 2
HERE=test/gpu
WORK=$(mktemp -d)
LEASES="$WORK/leases"
# kiln-agent run drops its interference records here rather than in the host's spool.
export KILN_AGENT_RESULTS="$WORK/results"
STEP=${KILN_CHECK_STEP_SECONDS:-120}
failures=0
bg_pids=()

cleanup() {
  for pid in "${bg_pids[@]}"; do kill "$pid" 2>/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT

pass() { echo "PASS $1: $2"; }
fail() {
  echo "FAIL $1: $2"
  failures=$((failures + 1))
}
agent() { timeout "$STEP" node bin/kiln-agent.js "$@"; }
# Reads one field of a JSON file with node (jq is not assumed).
field() { node -e 'const v = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(eval("v" + process.argv[2]) ?? "")' "$1" "$2"; }
# The pids nvidia-smi lists as compute processes right now, one per line.
gpu_pids() { timeout 30 nvidia-smi --query-compute-apps=pid --format=csv,noheader,nounits | tr -d ' '; }
# Waits up to $2 seconds for pid $1 to be listed by nvidia-smi.
wait_listed() {
  local deadline=$((SECONDS + $2))
  while ((SECONDS < deadline)); do
    grep -qx "$1" <<<"$(gpu_pids)" && return 0
    sleep 0.5
  done
  return 1
}
# Waits up to $2 seconds for file $1 to hold a pid.
wait_pidfile() {
  local deadline=$((SECONDS + $2))
  while ((SECONDS < deadline)); do
    [[ -s $1 ]] && return 0
    sleep 0.2
  done
  return 1
}

# --- prerequisites ------------------------------------------------------------------------------
missing=()
[[ -f build/runner-agent/src/cli.js ]] || missing+=("build/ (run npm ci && npm run build)")
command -v node >/dev/null || missing+=("node (>= 20)")
command -v nvidia-smi >/dev/null || missing+=(nvidia-smi)
command -v python3 >/dev/null || missing+=(python3)
if ((${#missing[@]} > 0)); then
  fail prerequisites "missing: ${missing[*]}"
  exit 2
fi

# --- 1. probe: a GPU is found, with the UUID, name and compute capability nvidia-smi reports ----
if agent probe --json >"$WORK/probe.json" 2>"$WORK/probe.err"; then
  UUID=$(field "$WORK/probe.json" '.gpus[0]?.uuid')
  NAME=$(field "$WORK/probe.json" '.gpus[0]?.name')
  CC=$(field "$WORK/probe.json" '.gpus[0]?.computeCapability')
  smi_row=$(timeout 30 nvidia-smi --query-gpu=uuid,name,compute_cap --format=csv,noheader | head -1)
  if [[ $UUID =~ ^GPU- && -n $NAME && $CC =~ ^[0-9]+\.[0-9]+$ && $smi_row == "$UUID, $NAME, $CC" ]]; then
    pass probe "$NAME sm$CC $UUID"
  else
    fail probe "GPU 0 is '$UUID, $NAME, $CC'; nvidia-smi says '$smi_row'"
  fi
else
  fail probe "kiln-agent probe exited non-zero: $(head -1 "$WORK/probe.err")"
fi
if [[ -z ${UUID:-} || ! $UUID =~ ^GPU- ]]; then
  echo "FAIL check: no GPU UUID from the probe; the remaining steps need one"
  exit 1
fi

# --- 2. labels: gpu, sm<cc> and the GPU product family ------------------------------------------
family=$(node --input-type=module -e 'const { gpuFamily } = await import(process.cwd() + "/build/runner-agent/src/labels.js"); console.log(gpuFamily(process.argv[1]))' "$NAME")
if labels=$(agent labels 2>"$WORK/labels.err"); then
  want=(gpu "sm${CC/./}" "$family")
  lacking=()
  for label in "${want[@]}"; do grep -qx -- "$label" <<<"$labels" || lacking+=("$label"); done
  if ((${#lacking[@]} == 0)); then
    pass labels "$(tr '\n' ' ' <<<"$labels")"
  else
    fail labels "missing ${lacking[*]} in: $(tr '\n' ' ' <<<"$labels")"
  fi
else
  fail labels "kiln-agent labels exited non-zero: $(head -1 "$WORK/labels.err")"
fi

# --- 3. doctor: exit 0 and the driver ok --------------------------------------------------------
if agent doctor >"$WORK/doctor.txt" 2>&1 && grep -q '^ok *gpu-driver:' "$WORK/doctor.txt"; then
  pass doctor "$(grep -c . "$WORK/doctor.txt") findings"
else
  fail doctor "no 'ok gpu-driver' line or a non-zero exit"
fi
sed 's/^/  | /' "$WORK/doctor.txt"

# --- 4. lease: the child sees exactly the leased GPU ---------------------------------------------
if agent run --gpu "$UUID" --lease-dir "$LEASES" --retries 0 -- python3 "$HERE/device.py" \
  >"$WORK/device.json" 2>"$WORK/lease.err"; then
  seen=$(field "$WORK/device.json" '.visible')
  count=$(field "$WORK/device.json" '.count')
  dev_name=$(field "$WORK/device.json" '.name')
  # torch prints the UUID without the GPU- prefix: compare the hex digits, in lower case.
  dev_uuid=$(field "$WORK/device.json" '.uuid')
  dev_hex=${dev_uuid,,}
  dev_hex=${dev_hex#gpu-}
  leased_hex=${UUID,,}
  leased_hex=${leased_hex#gpu-}
  if [[ $seen != "$UUID" || $count != 1 || $dev_name != "$NAME" ]]; then
    fail lease "child saw CUDA_VISIBLE_DEVICES=$seen, $count device(s), device 0 '$dev_name'"
  elif [[ -n $dev_uuid && $dev_hex != "$leased_hex" ]]; then
    fail lease "child's device 0 has UUID $dev_uuid, not $UUID"
  elif grep -q 'could not watch' "$WORK/lease.err"; then
    fail lease "$(grep 'could not watch' "$WORK/lease.err")"
  else
    pass lease "child sees 1 device, $dev_name ${dev_uuid:-(torch gives no uuid)}"
  fi
else
  fail lease "kiln-agent run exited non-zero: $(tail -1 "$WORK/lease.err")"
fi

# --- 5. a foreign GPU process started outside the lease is reported ------------------------------
python3 "$HERE/matmul.py" 600 "$WORK/foreign.pid" >/dev/null 2>&1 &
bg_pids+=($!)
if ! wait_pidfile "$WORK/foreign.pid" 90; then
  fail foreign "the foreign matmul never started on the GPU"
else
  foreign=$(cat "$WORK/foreign.pid")
  if ! wait_listed "$foreign" "${KILN_CHECK_LIST_SECONDS:-30}"; then
    fail foreign "nvidia-smi never listed the foreign process $foreign (in a container without hostPID it cannot)"
  else
    agent run --gpu "$UUID" --lease-dir "$LEASES" --retries 0 -- sleep 3 >/dev/null 2>"$WORK/foreign.err"
    if ! grep -q "every attempt was interfered on $UUID by .*pid ${foreign}[,)]" "$WORK/foreign.err"; then
      fail foreign "pid $foreign not reported; kiln-agent said: $(tr '\n' ' ' <"$WORK/foreign.err")"
    elif ! grep -qs "\"pid\": ${foreign}," "$KILN_AGENT_RESULTS"/interference-*.json; then
      fail foreign "pid $foreign reported, but no interference record in $KILN_AGENT_RESULTS names it"
    else
      pass foreign "reported: $(grep -o 'by .*pid '"$foreign"'[^)]*)' "$WORK/foreign.err" | head -1)"
    fi
  fi
fi
for pid in "${bg_pids[@]}"; do kill "$pid" 2>/dev/null; done
wait 2>/dev/null
bg_pids=()

# --- 6. kiln's own grandchild on the GPU is not a neighbour --------------------------------------
# The leased child is sh; the matmul it starts is the agent's grandchild. A watcher logs what
# nvidia-smi lists meanwhile, proving the grandchild really was a GPU process during the run.
(while :; do gpu_pids >>"$WORK/listed.txt" 2>/dev/null; sleep 0.5; done) &
bg_pids+=($!)
agent run --gpu "$UUID" --lease-dir "$LEASES" --retries 0 -- \
  sh -c "python3 $HERE/matmul.py 12 $WORK/own.pid & wait" >/dev/null 2>"$WORK/own.err"
status=$?
own=$(cat "$WORK/own.pid" 2>/dev/null)
if [[ $status != 0 ]]; then
  fail own-grandchild "kiln-agent run exited $status: $(tail -1 "$WORK/own.err")"
elif [[ -z $own ]] || ! grep -qx "$own" "$WORK/listed.txt"; then
  fail own-grandchild "the grandchild matmul (${own:-no pid}) never showed up in nvidia-smi"
elif grep -q -e 'interfered' -e 'could not watch' "$WORK/own.err"; then
  fail own-grandchild "kiln-agent said: $(tr '\n' ' ' <"$WORK/own.err")"
else
  pass own-grandchild "pid $own was on the GPU and not reported"
fi

if ((failures > 0)); then
  echo "FAILED: $failures step(s)"
  exit 1
fi
echo "ALL PASSED"
