#!/usr/bin/env bash
# `mmalign eval --embeddings`: exit codes (0 ok, 1 runtime error, 2 usage error), errors that name the
# tensor, and --json numbers equal to the reference metrics that tools/golden/retrieval.py stored in
# the golden file's metadata. Bad files are written here with python3's struct and json (no numpy).
# Usage: test_eval_cli.sh PATH_TO_MMALIGN SOURCE_DIR
set -u
bin="$1"
g="$2/tests/golden/retrieval"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
expect_rc() {  # expect_rc WANT DESCRIPTION -- args...
  local want="$1" what="$2"
  shift 3
  "$bin" "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  if [ "$rc" -ne "$want" ]; then
    echo "FAIL: $what: exit $rc, want $want"; cat "$tmp/err"; fails=$((fails + 1))
  else
    echo "ok: $what"
  fi
}
expect_err() {  # expect_err TEXT...: stderr must contain every TEXT
  for s in "$@"; do
    grep -qF -- "$s" "$tmp/err" || { echo "FAIL: stderr lacks '$s':"; cat "$tmp/err"; fails=$((fails + 1)); }
  done
}

# write NAME SPEC...: a safetensors file $tmp/NAME; SPEC is tensor:dtype:shape:values, shape and values
# comma-separated (shape "" is 0-d), values "nan" allowed.
write() {
  python3 - "$tmp/$1" "${@:2}" <<'PY'
import json, struct, sys
fmt = {"F32": "f", "F64": "d", "I64": "q"}
header, blob = {}, b""
for spec in sys.argv[2:]:
    name, dt, shape, vals = spec.split(":")
    shape = [int(s) for s in shape.split(",") if s]
    vals = [float(v) if dt != "I64" else int(v) for v in vals.split(",") if v]
    raw = struct.pack("<%d%s" % (len(vals), fmt[dt]), *vals)
    header[name] = {"dtype": dt, "shape": shape, "data_offsets": [len(blob), len(blob) + len(raw)]}
    blob += raw
h = json.dumps(header).encode()
h += b" " * (-len(h) % 8)
open(sys.argv[1], "wb").write(struct.pack("<Q", len(h)) + h + blob)
PY
}
# Two unit images, three unit captions in R^2.
img="image_embeds:F32:2,2:1,0,0,1"
txt="text_embeds:F32:3,2:1,0,0,1,1,0"
t2i="text_to_image:I64:3:0,1,0"

# ---- usage errors: 2 ----
expect_rc 2 "eval without --embeddings or --checkpoint is a usage error" -- eval
expect_rc 2 "--embeddings with --checkpoint is a usage error" -- eval --embeddings "$g/main.safetensors" --checkpoint x
expect_rc 2 "--embeddings with --split is a usage error" -- eval --embeddings "$g/main.safetensors" --split val
expect_rc 2 "--chunk-rows 0 is a usage error" -- eval --embeddings "$g/main.safetensors" --chunk-rows 0
expect_rc 2 "an unknown flag is a usage error" -- eval --embeddings "$g/main.safetensors" --frobnicate

# ---- runtime errors: 1, naming the tensor ----
expect_rc 1 "--checkpoint on a directory without state.pb is a runtime error" -- eval --checkpoint "$tmp"
expect_err "state.pb is missing"
expect_rc 1 "a missing file is a runtime error" -- eval --embeddings "$tmp/none.safetensors"
write missing.safetensors "$img" "$txt"
expect_rc 1 "a missing tensor is a runtime error" -- eval --embeddings "$tmp/missing.safetensors"
expect_err "has no tensor 'text_to_image'" "it holds: image_embeds, text_embeds"
write dtype.safetensors "$img" "$txt" "text_to_image:F32:3:0,1,0"
expect_rc 1 "text_to_image in f32 is a runtime error" -- eval --embeddings "$tmp/dtype.safetensors"
expect_err "text_to_image must be i64, got f32"
write shape.safetensors "image_embeds:F32:4:1,0,0,1" "$txt" "$t2i"
expect_rc 1 "1-D image_embeds is a runtime error" -- eval --embeddings "$tmp/shape.safetensors"
expect_err "image_embeds must be 2-D"
write width.safetensors "$img" "text_embeds:F32:2,3:1,0,0,0,1,0" "text_to_image:I64:2:0,1"
expect_rc 1 "embeddings of different widths are a runtime error" -- eval --embeddings "$tmp/width.safetensors"
expect_err "image_embeds [2,2] and text_embeds [2,3] differ in width"
write range.safetensors "$img" "$txt" "text_to_image:I64:3:0,2,0"
expect_rc 1 "text_to_image out of range is a runtime error" -- eval --embeddings "$tmp/range.safetensors"
expect_err "text_to_image[1] = 2 is out of range [0, 2)" "$tmp/range.safetensors"
write nan.safetensors "image_embeds:F32:2,2:1,0,nan,1" "$txt" "$t2i"
expect_rc 1 "a NaN embedding is a runtime error" -- eval --embeddings "$tmp/nan.safetensors"
expect_err "image_embeds row 1, column 0 is nan"
write labels.safetensors "$img" "$txt" "$t2i" "labels:I64:3:0,1,0"
expect_rc 1 "labels of the wrong length are a runtime error" -- eval --embeddings "$tmp/labels.safetensors"
expect_err "labels must be [2]"

# ---- success: 0 ----
write small.safetensors "$img" "$txt" "$t2i"
expect_rc 0 "a small file evaluates" -- eval --embeddings "$tmp/small.safetensors"
grep -q "^R-sum 600.00$" "$tmp/out" || { echo "FAIL: table lacks R-sum 600.00:"; cat "$tmp/out"; fails=$((fails + 1)); }
[ -s "$tmp/err" ] && { echo "FAIL: unexpected stderr:"; cat "$tmp/err"; fails=$((fails + 1)); }
write scaled.safetensors "image_embeds:F32:2,2:2,0,0,1" "$txt" "$t2i"
expect_rc 0 "non-unit embeddings evaluate, with a warning" -- eval --embeddings "$tmp/scaled.safetensors"
expect_err "warning: 1 of 2 image_embeds rows" "used as given"
for chunk in 1 7 1024; do
  expect_rc 0 "the golden file, --json --chunk-rows $chunk" -- eval --embeddings "$g/main.safetensors" --json --chunk-rows $chunk
  python3 -c 'import json,sys; json.load(sys.stdin)' <"$tmp/out" || { echo "FAIL: --json output does not parse"; fails=$((fails + 1)); }
  # The reference metrics in the file's metadata, read with struct + json.
  python3 - "$g/main.safetensors" "$tmp/out" <<'PY' || fails=$((fails + 1))
import json, struct, sys
blob = open(sys.argv[1], "rb").read()
meta = json.loads(blob[8:8 + struct.unpack("<Q", blob[:8])[0]])["__metadata__"]
got = json.load(open(sys.argv[2]))
want = json.loads(meta["metrics"])
want["label"] = json.loads(meta["label_metrics"])
assert got == want, "eval --json differs from the reference:\n%s\n%s" % (got, want)
print("ok: --json equals the reference metrics")
PY
done
[ "$(wc -l <"$tmp/out")" -eq 1 ] || { echo "FAIL: --json is not one line"; fails=$((fails + 1)); }

echo "$fails failed"
[ "$fails" -eq 0 ]
