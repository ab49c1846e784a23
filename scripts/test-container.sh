#!/usr/bin/env bash
# npm run test:container — builds the image and runs the README's docker command for real (with
# podman), then checks the job's outputs; then stops a second run with SIGTERM and resumes it; then
# runs `gradpool bench --quick` in the image (its runtime dependencies must all be in the image).
# Not part of `npm test`: CI has no container engine. Needs ../shared/tools/container-base.sh once.
set -euo pipefail
cd "$(dirname "$0")/.."
engine=${CONTAINER_ENGINE:-podman}
fail() { echo "test:container: FAIL: $*" >&2; exit 1; }

$engine build --network host -t gradpool .

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r examples/jobs/mnist "$work/job"
chmod -R a+rwX "$work/job" # the image runs as the unprivileged `node` user

echo "== run: $engine run --rm --init -v $work/job:/job gradpool train /job/job.json"
$engine run --rm --init --network host -v "$work/job:/job" gradpool train /job/job.json 2> "$work/train.log" || fail "train exited $? ($(tail -3 "$work/train.log"))"
out="$work/job/out"
[ -s "$out/metrics.jsonl" ] || fail "no metrics.jsonl"
[ -s "$out/final/model.json" ] && [ -s "$out/final/weights.bin" ] || fail "no final weights"
ls "$out/checkpoints"/ckpt-*.gpck >/dev/null || fail "no checkpoints"
done_line=$(grep '"type":"done"' "$work/train.log") || fail "no done event"
echo "done: $done_line"
node -e '
  const m = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
  const epochs = m.filter((l) => l.type === "epoch");
  const acc = epochs.at(-1).val_acc;
  console.log(`metrics: ${m.length} lines, ${epochs.length} epochs, final test accuracy ${(100 * acc).toFixed(2)}%`);
  if (!(acc >= 0.92)) { console.error("test accuracy below 92%"); process.exit(1); }
' "$out/metrics.jsonl" || fail "metrics check"

echo "== predict"
$engine run --rm --init --network host -v "$work/job:/job" gradpool predict /job/job.json 2> "$work/predict.log" || fail "predict exited $?"
[ "$(wc -l < "$out/predictions.jsonl")" -eq 7996 ] || fail "predictions.jsonl should have 7996 lines"

echo "== SIGTERM and resume"
cp "$out/final/weights.bin" "$work/uninterrupted.bin"
rm -rf "$out"
$engine run --name gradpool-sigterm --init --network host -v "$work/job:/job" gradpool train /job/job.json --progress-every 0 2> "$work/term.log" &
for _ in $(seq 1 600); do grep -q '"step":150' "$work/term.log" 2>/dev/null && break; sleep 0.2; done
$engine stop -t 60 gradpool-sigterm >/dev/null
code=$($engine wait gradpool-sigterm 2>/dev/null || true)
wait || true
$engine rm -f gradpool-sigterm >/dev/null 2>&1 || true
[ "$code" = "143" ] || fail "expected exit 143 after SIGTERM, got '$code'"
grep -q '"type":"checkpoint"' "$work/term.log" || fail "no checkpoint written on SIGTERM"
$engine run --rm --init --network host -v "$work/job:/job" gradpool train /job/job.json --resume 2> "$work/resume.log" || fail "resume exited $?"
grep -q '"type":"resume"' "$work/resume.log" || fail "resume did not start from a checkpoint"
cmp -s "$out/final/weights.bin" "$work/uninterrupted.bin" || fail "resumed weights differ from the uninterrupted run"
echo "resumed weights are bit-identical to the uninterrupted run"

echo "== bench: $engine run --rm --init -v $work/job:/job gradpool bench --quick --out /job/bench"
$engine run --rm --init --network host -v "$work/job:/job" gradpool bench --quick --out /job/bench > "$work/bench.log" 2>&1 || fail "bench exited $? ($(tail -3 "$work/bench.log"))"
json=$(ls "$work"/job/bench/*.json 2>/dev/null | head -n1 || true)
[ -n "$json" ] && [ -s "${json%.json}.svg" ] || fail "bench wrote no JSON and SVG under /job/bench ($(tail -3 "$work/bench.log"))"
node -e '
  const fs = require("fs");
  const r = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
  const svg = fs.readFileSync(process.argv[1].replace(/\.json$/, ".svg"), "utf8");
  if (r.schema !== "gradpool-bench/1" || !r.config.quick) throw new Error("not a quick gradpool-bench/1 result");
  const pool = r.rows.filter((row) => row.method === "pool" && row.latency.medianMs > 0);
  if (pool.length === 0 || r.targets.length === 0) throw new Error("no pool rows or no targets");
  if (!svg.startsWith("<svg") || !svg.includes("ideal (linear)")) throw new Error("the SVG is not the speedup plot");
  console.log(`bench: ${r.rows.length} cells, ${pool.length} pool cells, ${r.targets.length} targets, threads ${r.config.threads}`);
' "$json" || fail "bench results check"
echo "test:container: ok"
