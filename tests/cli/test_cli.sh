#!/usr/bin/env bash
# The mmalign program's contract: exit codes (0 ok, 1 runtime error, 2 usage error), messages on
# stderr, and `gradcheck --all --json` reporting every differentiable op as passing.
# Usage: test_cli.sh PATH_TO_MMALIGN
set -u
bin="$1"
fails=0
expect_rc() {  # expect_rc WANT DESCRIPTION -- args...
  local want="$1" what="$2"
  shift 3
  "$bin" "$@" >/tmp/mmalign_cli_out.$$ 2>/tmp/mmalign_cli_err.$$
  local rc=$?
  if [ "$rc" -ne "$want" ]; then
    echo "FAIL: $what: exit $rc, want $want"; cat /tmp/mmalign_cli_err.$$; fails=$((fails + 1))
  else
    echo "ok: $what"
  fi
}
expect_rc 2 "no subcommand is a usage error" -- 
expect_rc 2 "gradcheck without a target is a usage error" -- gradcheck
expect_rc 2 "--op with --all is a usage error" -- gradcheck --op exp --all
expect_rc 2 "unknown flag is a usage error" -- gradcheck --frobnicate
expect_rc 1 "unknown op is a runtime error" -- gradcheck --op no_such_op
grep -q "unknown op 'no_such_op'" /tmp/mmalign_cli_err.$$ || { echo "FAIL: message does not name the op"; fails=$((fails + 1)); }
expect_rc 1 "a NoDiff op cannot be gradient-checked" -- gradcheck --op eq
expect_rc 1 "unknown module is a runtime error" -- gradcheck --module no_such_module
expect_rc 0 "gradcheck --op tanh passes" -- gradcheck --op tanh
expect_rc 0 "gradcheck --all --json passes" -- gradcheck --all --json
# The JSON lists every differentiable op once, all passing.
python3 - /tmp/mmalign_cli_out.$$ <<'PY' || fails=$((fails + 1))
import json, sys
j = json.load(open(sys.argv[1]))
assert j["passed"] is True, "overall passed"
names = [o["op"] for o in j["ops"]]
assert len(names) == len(set(names)) == j["num_ops"], "each op once"
assert all(o["passed"] and o["cases"] for o in j["ops"]), "every op passed with at least one case"
assert {"matmul", "conv2d", "layer_norm", "softmax", "cross_entropy", "lstm"} <= set(names)
print("ok: JSON lists", len(names), "ops,", j["num_cases"], "cases")
PY
expect_rc 0 "demo runs and its loss goes down" -- demo --steps 40
# embed / summary: usage errors are 2, bad configs and files are 1 naming file:line:col.
cfg=/tmp/mmalign_cli_cfg.$$.pbtxt
printf 'model {\n  image { resnet { preset: "resnet18" widths: [8, 16, 32, 64] } image_size: 64 }\n  text { lstm { vocab_size: 50 embed_dim: 8 hidden_size: 8 } }\n}\n' > "$cfg"
expect_rc 2 "embed without --out is a usage error" -- embed --config "$cfg" --inputs x.safetensors
expect_rc 2 "embed without inputs is a usage error" -- embed --config "$cfg" --out /tmp/x.safetensors
expect_rc 2 "embed with an unknown weights format is a usage error" -- embed --config "$cfg" --inputs a --out b --weights-format onnx
expect_rc 1 "embed with a missing inputs file is a runtime error" -- embed --config "$cfg" --inputs /nonexistent.safetensors --out /tmp/x.safetensors
expect_rc 0 "summary prints both towers" -- summary --config "$cfg"
grep -q "image tower: features \[1,64\]" /tmp/mmalign_cli_out.$$ && grep -q "text tower: features \[1,16\]" /tmp/mmalign_cli_out.$$ || {
  echo "FAIL: summary output"; cat /tmp/mmalign_cli_out.$$; fails=$((fails + 1)); }
printf 'model {\n  image { resnet { preset: 18 } }\n}\n' > "$cfg"
expect_rc 1 "a type error in a config is a runtime error" -- summary --config "$cfg"
grep -q "$cfg:2:28: Expected string" /tmp/mmalign_cli_err.$$ || { echo "FAIL: config error lacks file:line:col"; cat /tmp/mmalign_cli_err.$$; fails=$((fails + 1)); }
rm -f "$cfg"
# data synth: writes the three splits in the captions.csv format.
synth=/tmp/mmalign_cli_synth.$$
expect_rc 2 "data without a subcommand is a usage error" -- data
expect_rc 2 "data synth without --out is a usage error" -- data synth --n 40
expect_rc 0 "data synth writes a small set" -- data synth --out "$synth" --n 40 --seed 3
for s in train val test; do
  [ "$(head -1 "$synth/$s/captions.csv")" = "filename,caption" ] || { echo "FAIL: $s/captions.csv header"; fails=$((fails + 1)); }
done
[ "$(ls "$synth/train/images" | wc -l)" -eq 36 ] || { echo "FAIL: 36 training images expected"; fails=$((fails + 1)); }
# data check: a clean set passes; a truncated image, a non-image and a missing file are listed with
# the annotation line, and fail the check (exit 1) under the default policy.
printf 'data {\n  train { format: "csv" path: "train/captions.csv" }\n  test { format: "csv" path: "test/captions.csv" }\n}\n' > "$synth/data.pbtxt"
expect_rc 0 "data check passes on the synthetic set" -- data check --data "$synth/data.pbtxt"
head -c 200 "$synth/test/images/000000.png" > "$synth/test/images/000001.png"
rm "$synth/train/images/000005.png"
expect_rc 1 "data check fails on bad samples" -- data check --data "$synth/data.pbtxt"
grep -q "000001.png (.*test/captions.csv:3): .*corrupt PNG" /tmp/mmalign_cli_out.$$ && grep -q "000005.png (.*train/captions.csv:7): .*cannot open" /tmp/mmalign_cli_out.$$ || {
  echo "FAIL: data check output"; cat /tmp/mmalign_cli_out.$$; fails=$((fails + 1)); }
printf 'data { train { format: "csv" path: "train/captions.csv" } bad_samples: "skip" }\n' > "$synth/skip.pbtxt"
expect_rc 0 "data check with the skip policy reports but passes" -- data check --data "$synth/skip.pbtxt" --json
grep -q '"passed": true' /tmp/mmalign_cli_out.$$ || { echo "FAIL: data check --json"; fails=$((fails + 1)); }
printf 'data { train { format: "xml" path: "a" } }\n' > "$synth/bad.pbtxt"
expect_rc 1 "data check with an unknown format is a runtime error" -- data check --data "$synth/bad.pbtxt"
rm -rf "$synth"
rm -f /tmp/mmalign_cli_out.$$ /tmp/mmalign_cli_err.$$
echo "$fails failed"
[ "$fails" -eq 0 ]
