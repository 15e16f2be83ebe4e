#!/usr/bin/env bash
# The data owner's whole flow, on one machine, with the sim TEE: measure, encrypt, provision the key to
# an attested runtime, compute, decrypt. See README.md beside this file for what each step proves.
#
#   examples/credit-risk/run-demo.sh [WORK_DIR]
#
# Part 1 (steps 1-7): the owner's provisioning server hands the volume key to the measured runtime
# (`twine provision serve` + `twine run --provision`). Part 2 (steps 8-11): the host runs `twine serve`
# and the owner's `twine client` verifies it, then uploads the key and the book and fetches the report.
#
# WORK_DIR (default: a new temporary folder, removed at the end) receives owner/ (what only the data
# owner holds) and host/ (what the untrusted host holds). LOANS=N sets the book's size (default 10000).
# Needs node and this repository built (`npm run build`). Exits non-zero if any step does not
# go as the README says, including a tampered launch that gets the key.
#
# THE SIM TEE IS SOFTWARE ONLY AND INSECURE. Its evidence is signed with keys from a folder on this
# machine; the policy below accepts it only because it says `dangerousAllowSim: true`. Never put that
# in a real policy: with sim, nothing about the runtime is proven.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
LOANS=${LOANS:-10000}
if [[ $# -gt 0 ]]; then
  WORK=$1
  mkdir -p "$WORK"
  TEMP_WORK=0
else
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/twine-credit-risk-demo.XXXXXX")
  TEMP_WORK=1
fi
# The servers this script starts, stopped however it ends.
PIDS=()
cleanup() {
  for pid in ${PIDS[@]+"${PIDS[@]}"}; do kill "$pid" 2>/dev/null || true; done
  if [[ $TEMP_WORK -eq 1 ]]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT
WORK=$(cd "$WORK" && pwd)
OWNER=$WORK/owner
HOST=$WORK/host
mkdir -p "$OWNER" "$HOST"
# The sim TEE keeps its keys here, not in the user's ~/.config/twine/sim.
export TWINE_SIM_DIR=$WORK/sim

# (Background servers are started with `node` directly, so $! is their pid rather than a subshell's.)
twine() { node "$ROOT/bin/twine.js" "$@"; }
step() { printf '\n== %s\n' "$*"; }
fail() {
  printf 'run-demo: %s\n' "$*" >&2
  exit 1
}
# await_line PID PATTERN OUT LOG NAME: wait (10 s at most) until the background server PID prints a line
# matching PATTERN to OUT; fail with its LOG if it exits first.
await_line() {
  for _ in $(seq 1 100); do
    grep -q "$2" "$3" 2>/dev/null && return 0
    kill -0 "$1" 2>/dev/null || fail "$5 did not start: $(cat "$4")"
    sleep 0.1
  done
  fail "$5 printed no line matching $2 within 10 s"
}
json_field() { node -e 'process.stdout.write(String(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))[process.argv[2]]))' "$1" "$2"; }

# The launch the owner agrees to, fixed once: the same flags go to `twine measure` and `twine run`.
GUEST_ARGS=(--trials 10000 --seed 42 --rho 0.12)
cp "$HERE/credit_risk.wasm" "$HOST/credit_risk.wasm"

step "1. owner: the provisioning server's identity (runtimes pin its certificate's SHA-256)"
# Made once and kept by the owner (owner/server/provision-server-{key,cert}.pem); prints its SHA-256.
PIN=$(twine provision identity --state "$OWNER/server")
echo "server certificate sha256: $PIN"
LAUNCH_FLAGS=(--pfs "$HOST/volume::/data" --provision-pin "$PIN")

step "2. owner: measure the exact launch (module, arguments, mounts, pin)"
twine measure "${LAUNCH_FLAGS[@]}" "$HOST/credit_risk.wasm" --json -- "${GUEST_ARGS[@]}" >"$OWNER/launch.json"
LAUNCH=$(json_field "$OWNER/launch.json" launchSha256)
echo "module sha256: $(json_field "$OWNER/launch.json" moduleSha256)"
echo "launch sha256: $LAUNCH"

step "3. owner: a fresh volume key, the loan book, and the book encrypted into a pfs volume"
node -e 'process.stdout.write(require("crypto").randomBytes(32).toString("hex") + "\n")' >"$OWNER/volume.key"
node "$HERE/make-loans.js" --loans "$LOANS" --seed 7 --out "$OWNER/loans.csv"
echo "loans.csv: $(($(wc -l <"$OWNER/loans.csv") - 1)) loans, first: $(sed -n 2p "$OWNER/loans.csv")"
twine pfs create "$HOST/volume" --key-file "$OWNER/volume.key" >/dev/null
twine pfs import "$HOST/volume" "$OWNER/loans.csv" /loans.csv --key-file "$OWNER/volume.key"
BORROWER=$(sed -n 2p "$OWNER/loans.csv" | cut -d, -f2)
if grep -rqF "$BORROWER" "$HOST/volume"; then fail "the host can read borrower id $BORROWER"; fi
echo "host's view: $(find "$HOST/volume" -type f | wc -l) files; grep for borrower id $BORROWER: no match"

step "4. owner: the policy (DEMO ONLY: dangerousAllowSim accepts the insecure sim TEE) and the server"
cat >"$OWNER/policy.json" <<EOF
{
  "launchHashes": ["$LAUNCH"],
  "dangerousAllowSim": true
}
EOF
cat "$OWNER/policy.json"
# --once: the server exits after handing the key to one runtime that passed the policy.
node "$ROOT/bin/twine.js" provision serve --policy "$OWNER/policy.json" --secret "volume-key=$OWNER/volume.key" \
  --state "$OWNER/server" --port 0 --once \
  >"$OWNER/server.out" 2>"$OWNER/server.log" &
SERVER=$!
PIDS+=("$SERVER")
await_line "$SERVER" '^port ' "$OWNER/server.out" "$OWNER/server.log" "the provisioning server"
PORT=$(sed -n 's/^port //p' "$OWNER/server.out")
[[ -n $PORT ]] || fail "the provisioning server printed no port"
[[ $(sed -n 's/^fingerprint //p' "$OWNER/server.out") == "$PIN" ]] || fail "the server's fingerprint is not the pin"
echo "provisioning server on 127.0.0.1:$PORT (pid $SERVER)"

step "5. host: a tampered launch (other --trials, so another launch hash) asks for the key"
set +e
twine run --tee sim --provision "https://127.0.0.1:$PORT" "${LAUNCH_FLAGS[@]}" \
  "$HOST/credit_risk.wasm" -- --trials 10 --seed 42 --rho 0.12 >"$OWNER/tampered.out" 2>"$OWNER/tampered.err"
TAMPERED=$?
set -e
echo "runtime exit status: $TAMPERED; it said: $(grep -v warning "$OWNER/tampered.err" | head -1)"
[[ $TAMPERED -ne 0 ]] || fail "the tampered launch ran"
twine pfs ls "$HOST/volume" --key-file "$OWNER/volume.key" >"$OWNER/after-tampered.txt"
if grep -q report "$OWNER/after-tampered.txt"; then fail "the tampered launch wrote a report"; fi
echo "server log: $(grep refused "$OWNER/server.log" | head -1)"

step "6. host: the agreed launch attests, receives the key, computes"
twine run --tee sim --provision "https://127.0.0.1:$PORT" "${LAUNCH_FLAGS[@]}" \
  "$HOST/credit_risk.wasm" -- "${GUEST_ARGS[@]}" | tee "$OWNER/run.out"
wait "$SERVER" || fail "the provisioning server failed: $(cat "$OWNER/server.log")"
echo "server log: $(grep served "$OWNER/server.log" | head -1)"

step "7. owner: decrypt the report"
twine pfs export "$HOST/volume" /report.json "$OWNER/report.json" --key-file "$OWNER/volume.key" >/dev/null
node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const money = (x) => x.toFixed(2).padStart(16);
console.log(`${r.loans} loans, ${r.borrowers} borrowers, ${r.trials} trials, rho ${r.rho}, model: ${r.model}`);
console.log(`expected loss   ${money(r.expected_loss)}`);
console.log(`unexpected loss ${money(r.unexpected_loss)}`);
for (const t of r.tail)
  console.log(`VaR ${(100 * t.level).toFixed(1)}%      ${money(t.var)}   ES ${money(t.expected_shortfall)}`);
console.log(`HHI ${r.hhi.toFixed(6)}; top 10 borrowers: ${(100 * r.top10_share).toFixed(2)}% of exposure`);
' "$OWNER/report.json"
if grep -rqF "$BORROWER" "$HOST/volume"; then fail "the host can read borrower id $BORROWER"; fi
echo "the host still sees only ciphertext (no $BORROWER in $HOST/volume); the report is in $OWNER/report.json"

# Part 2: the other direction. The host runs `twine serve`, an attested endpoint for this one launch;
# the owner's `twine client` verifies it inside the TLS handshake before sending the key and the book.
SERVE_FLAGS=(--pfs "-::/data" --timeout 120 --max-memory 512)

step "8. owner: measure the served launch (each job gets a fresh volume at /data; limits are part of it)"
twine measure "${SERVE_FLAGS[@]}" "$HOST/credit_risk.wasm" --json -- "${GUEST_ARGS[@]}" >"$OWNER/serve-launch.json"
SERVE_LAUNCH=$(json_field "$OWNER/serve-launch.json" launchSha256)
echo "launch sha256: $SERVE_LAUNCH"
cat >"$OWNER/serve-policy.json" <<EOF2
{
  "launchHashes": ["$SERVE_LAUNCH"],
  "dangerousAllowSim": true
}
EOF2

step "9. host: twine serve (sim TEE), keeping job volumes in host/serve-state"
mkdir -p "$HOST/serve-state"
node "$ROOT/bin/twine.js" serve --tee sim "${SERVE_FLAGS[@]}" --state "$HOST/serve-state" --port 0 \
  "$HOST/credit_risk.wasm" -- "${GUEST_ARGS[@]}" >"$HOST/serve.out" 2>"$HOST/serve.log" &
SERVE=$!
PIDS+=("$SERVE")
await_line "$SERVE" '^listening on ' "$HOST/serve.out" "$HOST/serve.log" "twine serve"
URL=$(sed -n 's/^listening on //p' "$HOST/serve.out")
[[ -n $URL ]] || fail "twine serve printed no address"
echo "serving on $URL"

step "10. owner: a client whose policy trusts another launch refuses the server before sending anything"
set +e
twine client info "$URL" --policy "$OWNER/policy.json" >"$OWNER/client-refused.out" 2>"$OWNER/client-refused.err"
REFUSED=$?
set -e
echo "client exit status: $REFUSED; it said: $(head -1 "$OWNER/client-refused.err")"
[[ $REFUSED -ne 0 ]] || fail "the client accepted a server outside its policy"

step "11. owner: verify, upload the key and the book, run, fetch the report and the encrypted volume"
twine client run "$URL" --policy "$OWNER/serve-policy.json" --key-file "$OWNER/volume.key" \
  --input "$OWNER/loans.csv=/data/loans.csv" --output "/data/report.json=$OWNER/report-serve.json" \
  --fetch-volume "$OWNER/serve-volume" >"$OWNER/client-run.out"
head -1 "$OWNER/client-run.out"
cmp -s "$OWNER/report.json" "$OWNER/report-serve.json" || fail "twine serve computed another report"
twine pfs export "$OWNER/serve-volume" /report.json "$OWNER/report-serve-volume.json" \
  --key-file "$OWNER/volume.key" >/dev/null
cmp -s "$OWNER/report.json" "$OWNER/report-serve-volume.json" || fail "the fetched volume holds another report"
echo "the report from twine serve, and the one decrypted from its volume, equal step 7's byte for byte"
kill "$SERVE"
wait "$SERVE" 2>/dev/null || true
