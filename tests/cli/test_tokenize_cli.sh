#!/usr/bin/env bash
# `mmalign tokenize` and `mmalign vocab build`: exit codes (0 ok, 1 runtime error, 2 usage error),
# output formats, and ids equal to the Hugging Face golden ids for a few corpus captions.
# Usage: test_tokenize_cli.sh PATH_TO_MMALIGN SOURCE_DIR
set -u
bin="$1"
g="$2/tests/golden/tokenizers"
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
expect_out() {  # expect_out WANT DESCRIPTION: stdout must equal WANT
  if [ "$(cat "$tmp/out")" != "$1" ]; then
    echo "FAIL: $2: got '$(cat "$tmp/out")', want '$1'"; fails=$((fails + 1))
  fi
}
expect_err() {  # expect_err TEXT: stderr must contain TEXT
  grep -qF -- "$1" "$tmp/err" || { echo "FAIL: stderr lacks '$1':"; cat "$tmp/err"; fails=$((fails + 1)); }
}
wp=(tokenize --tokenizer wordpiece --vocab "$g/wordpiece_vocab.txt")
bpe=(tokenize --tokenizer bpe --vocab "$g/bpe_vocab.json" --merges "$g/bpe_merges.txt")

expect_rc 2 "tokenize without --text/--file is a usage error" -- "${wp[@]}"
expect_rc 2 "--text with --file is a usage error" -- "${wp[@]}" --text a --file b
expect_rc 2 "bpe without --merges is a usage error" -- tokenize --tokenizer bpe --vocab "$g/bpe_vocab.json" --text a
expect_rc 2 "--merges with wordpiece is a usage error" -- "${wp[@]}" --merges "$g/bpe_merges.txt" --text a
expect_rc 2 "unknown tokenizer is a usage error" -- tokenize --tokenizer sp --vocab x --text a
expect_rc 2 "--max-len 1 is a usage error" -- "${wp[@]}" --text a --max-len 1
expect_rc 2 "vocab without build is a usage error" -- vocab
expect_rc 2 "vocab build without --out is a usage error" -- vocab build --captions x
expect_rc 1 "a missing vocabulary is a runtime error" -- tokenize --tokenizer wordpiece --vocab "$tmp/none.txt" --text a
expect_err "cannot open vocabulary file"
printf '[PAD]\n[UNK]\n[CLS]\n[SEP]\n[UNK]\n' >"$tmp/dup.txt"
expect_rc 1 "a duplicate token is a runtime error naming file:line" -- tokenize --tokenizer wordpiece --vocab "$tmp/dup.txt" --text a
expect_err "dup.txt:5: duplicate token '[UNK]'"
printf 'fine\nbad \xff\n' >"$tmp/bad.txt"
expect_rc 1 "invalid UTF-8 in --file is a runtime error naming line and byte" -- "${wp[@]}" --file "$tmp/bad.txt"
expect_err "bad.txt:2: invalid UTF-8 at byte offset 4"

# Golden caption 19 ("The QUICK brown Fox!!"): the ids of expected.json.
cap19=$(python3 -c "import json;print(json.load(open('$g/corpus.json'))[19])")
want19=$(python3 -c "import json;print(' '.join(map(str,json.load(open('$g/expected.json'))['wordpiece_truncated_input_ids'][19])))")
expect_rc 0 "wordpiece --max-len 32" -- "${wp[@]}" --text "$cap19" --max-len 32
expect_out "$want19" "wordpiece ids of caption 19"
want19b=$(python3 -c "import json;print(' '.join(map(str,json.load(open('$g/expected.json'))['bpe_full_input_ids'][19])))")
expect_rc 0 "bpe without --max-len" -- "${bpe[@]}" --text "$cap19"
expect_out "$want19b" "bpe ids of caption 19"
printf 'a cat\n\nthe dog\r\n' >"$tmp/lines.txt"
expect_rc 0 "--file --json" -- "${bpe[@]}" --file "$tmp/lines.txt" --max-len 6 --json
python3 - "$tmp/out" <<'PY' || fails=$((fails + 1))
import json, sys
j = json.load(open(sys.argv[1]))
assert j["tokenizer"] == "bpe"
assert len(j["input_ids"]) == len(j["attention_mask"]) == len(j["tokens"]) == 3, "one row per line"
assert all(len(r) == 6 for r in j["input_ids"]), "padded to --max-len"
assert j["tokens"][1] == ["<s>", "</s>", "<pad>", "<pad>", "<pad>", "<pad>"], j["tokens"][1]
assert j["attention_mask"][1] == [1, 1, 0, 0, 0, 0]
print("ok: --json rows")
PY

printf 'filename,caption\n1.png,"A red car, parked"\n2.png,a red bike\n3.png,The CAR!\n' >"$tmp/captions.csv"
expect_rc 0 "vocab build --min-count 2" -- vocab build --captions "$tmp/captions.csv" --out "$tmp/vocab.txt" --min-count 2
[ "$(tr '\n' ' ' <"$tmp/vocab.txt")" = "<pad> <unk> <start> <end> a car red " ] || {
  echo "FAIL: vocab.txt is '$(tr '\n' ' ' <"$tmp/vocab.txt")'"; fails=$((fails + 1)); }
expect_rc 0 "word tokenizer" -- tokenize --tokenizer word --vocab "$tmp/vocab.txt" --text "A red boat" --max-len 7
expect_out "2 4 6 1 3 0 0" "word ids"
expect_rc 1 "a missing captions file is a runtime error" -- vocab build --captions "$tmp/none.csv" --out "$tmp/v.txt"

if [ "$fails" -ne 0 ]; then
  echo "$fails failure(s)"
  exit 1
fi
echo "all tokenize/vocab CLI checks passed"
