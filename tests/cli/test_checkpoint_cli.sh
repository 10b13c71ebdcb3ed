#!/usr/bin/env bash
# Checkpoints through the real program (SPEC §7):
#  1. SIGTERM during training → a checkpoint, exit 143, and `--resume auto` finishes the run;
#  2. SIGKILL at random moments of a run that checkpoints every step (so most kills land while a
#     checkpoint is being written) → every time, `latest` names a checkpoint that verifies and loads
#     (`mmalign eval --checkpoint RUN/latest`), and `--resume auto` continues;
#  3. a damaged newest checkpoint is skipped by `--resume auto` with a warning naming it.
# Usage: test_checkpoint_cli.sh PATH_TO_MMALIGN
set -u
bin="$1"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

cat >"$tmp/tiny.pbtxt" <<'CFG'
model {
  image { resnet { layers: [1, 1, 1, 1] widths: [8, 16, 16, 32] } image_size: 32 }
  text { lstm { embed_dim: 16 hidden_size: 16 } max_length: 16 }
}
data { synthetic { num_train: 256 num_val: 16 num_test: 16 image_size: 32 } num_workers: 1 }
head { embed_dim: 16 }
optim { lr: 2e-3 }
train { steps: 400 batch_size: 16 seed: 1 threads: 1 log_every: 1 checkpoint_every: 1 keep_checkpoints: 2 }
CFG

wait_for() {  # wait_for FILE SECONDS
  for _ in $(seq 1 $((10 * $2))); do [ -e "$1" ] && return 0; sleep 0.1; done
  return 1
}

# ---- 1. SIGTERM ----
run="$tmp/term"
"$bin" train --config "$tmp/tiny.pbtxt" --out "$run" >"$tmp/term.out" 2>&1 &
pid=$!
wait_for "$run/latest" 120 || fail "no checkpoint appeared within 120 s"
kill -TERM "$pid"
wait "$pid"
rc=$?
[ "$rc" -eq 143 ] && ok "SIGTERM: exit 143" || { fail "SIGTERM: exit $rc, want 143"; tail -5 "$tmp/term.out"; }
grep -q "received SIGTERM" "$run/train.log" && grep -q "continue with --resume auto" "$run/train.log" \
  && ok "SIGTERM: train.log says so" || fail "train.log lacks the SIGTERM lines"
"$bin" eval --checkpoint "$run/latest" --split val --json >"$tmp/eval.json" 2>"$tmp/eval.err" \
  && ok "the SIGTERM checkpoint evaluates" || { fail "eval --checkpoint after SIGTERM"; cat "$tmp/eval.err"; }
grep -q '"i2t_r1"' "$tmp/eval.json" || fail "eval --json output lacks i2t_r1"
"$bin" train --config "$tmp/tiny.pbtxt" --out "$run" --resume auto --set train.steps=0 >/dev/null 2>"$tmp/err" \
  && fail "train.steps=0 should be refused" || true
"$bin" train --config "$tmp/tiny.pbtxt" --out "$run" >/dev/null 2>"$tmp/err"
rc=$?
[ "$rc" -eq 1 ] && grep -q "already holds checkpoints" "$tmp/err" && ok "a second run into the same --out without --resume is refused" \
  || { fail "training into a run directory with checkpoints: exit $rc"; cat "$tmp/err"; }
step_before=$(readlink "$run/latest" | sed 's/step-0*//')
"$bin" train --config "$tmp/tiny.pbtxt" --out "$run" --resume auto --set train.steps=$((step_before + 3)) \
  >"$tmp/resume.out" 2>&1 && ok "resume auto after SIGTERM" || { fail "resume after SIGTERM"; tail -5 "$tmp/resume.out"; }
grep -q "resumed from .*step-0*$step_before at step $step_before" "$tmp/resume.out" \
  && ok "resumed at step $step_before" || { fail "no 'resumed from' line"; head -5 "$tmp/resume.out"; }
[ "$(readlink "$run/latest")" = "$(printf 'step-%07d' $((step_before + 3)))" ] && ok "finished at step $((step_before + 3))" \
  || fail "latest is $(readlink "$run/latest") after the resumed run"

# ---- 2. SIGKILL at random moments ----
run="$tmp/kill"
mid_write=0
for i in 1 2 3 4 5 6; do
  "$bin" train --config "$tmp/tiny.pbtxt" --out "$run" --resume auto >"$tmp/kill$i.out" 2>&1 &
  pid=$!
  wait_for "$run/latest" 120 || fail "kill $i: no checkpoint"
  sleep "0.$((RANDOM % 10))$((RANDOM % 10))"
  kill -KILL "$pid"
  wait "$pid" 2>/dev/null
  ls -a "$run" | grep -q '^\.step-.*\.tmp$' && mid_write=$((mid_write + 1))
  if "$bin" eval --checkpoint "$run/latest" --split val --json >/dev/null 2>"$tmp/err"; then
    ok "kill $i: latest ($(readlink "$run/latest")) verifies and loads"
  else
    fail "kill $i: latest does not load"; cat "$tmp/err"
  fi
done
echo "kills that left a half-written checkpoint behind: $mid_write of 6"
ls -a "$run" >"$tmp/listing"
echo "run directory after the kills: $(tr '\n' ' ' <"$tmp/listing")"

# ---- 3. a damaged newest checkpoint is skipped ----
# The newest complete checkpoint by step, which is what `--resume auto` tries first. It is not
# always `latest`'s target: a kill between the checkpoint's rename and the symlink's leaves a
# complete step-N+1 beside latest -> step-N.
newest=$(ls "$run" | grep '^step-[0-9]*$' | sort | tail -1)
python3 - "$run/$newest/model.safetensors" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[-5] ^= 0x40
open(p, "wb").write(b)
PY
"$bin" eval --checkpoint "$run/$newest" --split val >/dev/null 2>"$tmp/err" && fail "a damaged checkpoint evaluated" \
  || { grep -q "CRC-32C" "$tmp/err" && ok "eval names the CRC failure" || { fail "no CRC message"; cat "$tmp/err"; }; }
step_now=$(echo "$newest" | sed 's/step-0*//')
"$bin" train --config "$tmp/tiny.pbtxt" --out "$run" --resume auto --set train.steps=$((step_now + 1)) \
  >"$tmp/skip.out" 2>&1 || { fail "resume over a damaged checkpoint"; tail -5 "$tmp/skip.out"; }
grep -q "warning: skipping checkpoint: .*$newest" "$tmp/skip.out" && ok "the damaged $newest is skipped with a warning" \
  || { fail "no warning about $newest"; head -5 "$tmp/skip.out"; }

# ---- 4. a checkpoint's model through embed / search / zeroshot ----
ck="$tmp/term/latest"
"$bin" data synth --out "$tmp/synth" --n 40 --image-size 32 >/dev/null || fail "data synth"
imgs="$tmp/synth/test/images"
"$bin" embed --checkpoint "$ck" --images "$imgs" --out "$tmp/index.safetensors" >"$tmp/out" 2>"$tmp/err" \
  && grep -q "image_embeds \[" "$tmp/out" && ok "embed --images writes an index" || { fail "embed --images"; cat "$tmp/err"; }
"$bin" search --checkpoint "$ck" --index "$tmp/index.safetensors" --query "a red circle" -k 2 --json >"$tmp/s.json" 2>"$tmp/err" \
  || { fail "search"; cat "$tmp/err"; }
python3 - "$tmp/s.json" <<'PY' && ok "search returns 2 ranked images" || fail "search output"
import json, sys
j = json.load(open(sys.argv[1]))
r = j["results"]
assert len(r) == 2 and r[0]["rank"] == 1 and r[0]["cosine"] >= r[1]["cosine"], j
PY
first=$(ls "$imgs" | head -1)
"$bin" zeroshot --checkpoint "$ck" --image "$imgs/$first" --labels "red circle, blue square,green star" \
  --template "a {}" --template "{}" --json >"$tmp/z.json" 2>"$tmp/err" || { fail "zeroshot"; cat "$tmp/err"; }
python3 - "$tmp/z.json" <<'PY' && ok "zeroshot: 3 labels, probabilities sum to 1" || fail "zeroshot output"
import json, sys
j = json.load(open(sys.argv[1]))
p = [l["probability"] for l in j["labels"]]
assert len(p) == 3 and abs(sum(p) - 1) < 1e-6 and j["top"] == j["labels"][0]["label"], j
PY
"$bin" zeroshot --checkpoint "$ck" --image "$imgs/$first" --labels "a,,b" >/dev/null 2>"$tmp/err" \
  && fail "an empty label was accepted" || { grep -q "empty label" "$tmp/err" && ok "an empty label is named"; }
printf 'a red circle\na blue square\n' >"$tmp/caps.txt"
"$bin" embed --checkpoint "$ck" --captions "$tmp/caps.txt" --out "$tmp/t.safetensors" >"$tmp/out" 2>"$tmp/err" \
  && grep -q "text_embeds \[2,16\]" "$tmp/out" && ok "embed --captions" || { fail "embed --captions"; cat "$tmp/out" "$tmp/err"; }

[ "$fails" -eq 0 ] && echo "all checkpoint CLI checks passed" || echo "$fails checkpoint CLI checks FAILED"
[ "$fails" -eq 0 ]
