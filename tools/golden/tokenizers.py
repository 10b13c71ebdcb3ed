#!/usr/bin/env python3
"""Golden token ids for data/tokenizers: Hugging Face BertTokenizer and RobertaTokenizer (the slow,
pure-Python tokenizers of transformers) on a seeded corpus of awkward captions.

Writes tests/golden/tokenizers/:
  corpus.json          the captions (JSON list of strings; generated from --seed)
  wordpiece_vocab.txt  a WordPiece vocabulary assembled from the corpus (see build_wordpiece_vocab):
                       whole words, "##" suffixes, prefixes and the frequent characters, so that
                       both "##" pieces and [UNK] (rare characters, words > 100 characters) occur
  bpe_vocab.json, bpe_merges.txt
                       a byte-level BPE trained on the corpus with the `tokenizers` package's
                       ByteLevelBPETokenizer (1,500 merges), minus the symbols of two bytes that the
                       corpus uses (so that <unk> occurs)
  expected.json        for each tokenizer and caption: input_ids and attention_mask with
                       truncation=True, padding="max_length", max_length=32, and the input_ids
                       without truncation or padding

Run with the golden virtual environment (transformers 4.39.3, tokenizers, regex):
    /tmp/golden-venv/bin/python tools/golden/tokenizers.py           # write the files
    /tmp/golden-venv/bin/python tools/golden/tokenizers.py --check   # regenerate in memory, compare
Everything is deterministic: rerunning rewrites the files byte for byte.
"""
import argparse
import collections
import json
import os
import random
import sys
import tempfile

# This file is named tokenizers.py: its own directory (sys.path[0]) would shadow the `tokenizers`
# package it imports.
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import tokenizers  # noqa: E402
import transformers  # noqa: E402
from tokenizers import ByteLevelBPETokenizer  # noqa: E402
from transformers import BertTokenizer, RobertaTokenizer  # noqa: E402
from transformers.models.bert.tokenization_bert import BasicTokenizer  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(REPO, "tests", "golden", "tokenizers")
MAX_LENGTH = 32
NUM_CAPTIONS = 1200
BPE_MERGES = 1500
# Bytes whose symbols are removed from the BPE vocabulary: 0xF0 (the lead byte of every emoji) and
# 'é' 's second byte 0xA9 (as '©'), both frequent in the corpus.
BPE_DROPPED_BYTES = (0xF0, 0xA9)

COLORS = ["red", "blue", "green", "yellow", "black", "white", "orange", "purple", "grey", "brown", "pink"]
ADJS = ["small", "large", "tiny", "huge", "old", "young", "happy", "sleepy", "shiny", "wooden", "striped",
        "fluffy", "wet", "bright", "dark", "quiet", "noisy", "broken", "beautiful", "unbelievable"]
NOUNS = ["cat", "dog", "man", "woman", "child", "bicycle", "car", "tree", "house", "bird", "horse", "boat",
         "table", "chair", "umbrella", "skateboard", "giraffe", "elephant", "pizza", "sandwich", "kitten",
         "puppy", "motorcycle", "airplane", "train", "bench", "surfboard", "backpack", "laptop", "person"]
VERBS = ["sitting", "standing", "running", "jumping", "sleeping", "eating", "walking", "riding", "holding",
         "looking", "playing", "parked", "flying", "swimming", "waiting", "carrying", "wearing"]
PREPS = ["on", "under", "next to", "behind", "in front of", "near", "beside", "above", "inside", "across"]
PLACES = ["the grass", "a table", "the street", "a beach", "the snow", "a field", "the kitchen", "a park",
          "the water", "a bed", "the road", "a wall"]
ACCENTED = ["café", "jalapeño", "über", "Åland", "straße", "naïve", "résumé", "São Paulo", "Zürich",
            "crème brûlée", "Ångström", "piñata", "façade", "Ærø", "Øresund", "smörgåsbord", "cafe\u0301",
            "Mu\u0308nchen", "ÉCOLE", "Ñandú", "coöperate", "İstanbul", "Ελληνικά", "ΣΊΣΥΦΟΣ", "ǅemal",
            "Ǆ", "ﬁnal", "Ⅻ", "ＡＢＣ ｆｕｌｌ", "Дом и КОШКА", "ḱ\u0323", "a\U0001D16D\U0001D165b",
            "\u1E0B\u0323", "q\u0307\u0323", "ﬀ", "Ω ohm \u2126 Å \u212B"]
CJK = ["一只猫坐在垫子上", "猫がいます", "고양이가 있다", "한국어 문장", "中文，標點。", "電車と駅",
       "\uF900\uF901 compat", "\U00020000 ext-b", "ｶﾀｶﾅ", "漢字abc漢字", "日本語のテキスト"]
EMOJI = ["🐱", "👍🏽", "❤️", "👨\u200d👩\u200d👧", "🎉🎉", "😀 smile", "☕", "🇫🇷", "✨sparkle✨", "🚲🚗"]
PUNCT = [",", ".", "!", "?", "...", ";", ":", "-", "--", "(", ")", "\"", "'", "&", "@", "#", "$", "%",
         "*", "/", "\\", "[", "]", "{", "}", "~", "`", "^", "_", "|", "+", "=", "<", ">", "«", "»", "—",
         "–", "…", "¿", "¡", "·", "§", "¶", "†", "“", "”", "‘", "’", "。", "、", "※", "©", "®", "°", "±"]
NUMBERS = ["3", "42", "1,000", "12.5%", "2nd", "1990s", "$5.99", "٣", "²", "½", "10:30", "3x4", "007",
           "1e-5", "-7", "#1", "四", "Ⅷ", "③", "1/2"]
CONTRACTIONS = ["it's", "don't", "they're", "we've", "I'm", "you'll", "he'd", "IT'S", "'twas", "rock 'n' roll",
                "it’s", "can't", "dogs'", "''quoted''", "o'clock", "won't", "y'all", "she'S", "'re'", "'ll"]
CONTROLS = ["\x00", "\x07", "\x1b[31m", "\u200b", "\ufeff", "\ufffd", "\u0085", "\u2028", "\u2029", "\x7f",
            "\u00ad", "\u200d", "\ue000", "\U000E0041", "\u0378", "\x1c", "\x0b", "\x0c"]
SPACES = [" ", "  ", "\t", "\n", "\r\n", "\u00a0", "\u3000", "\u2003", " \t ", "\u1680", "\u202f"]
# Pseudo-words from syllables: many distinct words, so that WordPiece needs "##" pieces to cover them.
SYLLABLES = ["ka", "lo", "mi", "ren", "to", "sa", "vel", "qui", "dor", "ban", "tes", "nu", "pha", "gri",
             "zo", "lin", "mar", "ton", "est", "ing", "bra", "cus", "fen", "hol", "jux", "ple", "str", "wy"]
SPECIALS = ["[CLS]", "[SEP]", "[MASK]", "[UNK]", "[PAD]", "[cls]", "<s>", "</s>", "<mask>", "<pad>",
            "<unk>", "<MASK>"]
FIXED = ["", " ", "   ", "\t", "\n", "\t\n \r\n", "\u3000", "\u00a0 \u00a0", "\x00", "\x07\x08",
         "a", "A", ".", "...", "a" * 100, "b" * 101, "x" * 250, "unbelievable" * 9, "é" * 101,
         "The QUICK brown Fox!!", "Hello,world", "e-mail me @ foo.bar", "a  <mask>  b", "x<mask>y",
         "[CLS] a cat [SEP]", "<s>a cat</s>", "[CLS][SEP]", "<s><s>", "trailing spaces   ",
         "   leading spaces", "tab\tseparated\tcaption", "line\nbreak\ncaption", "caf\u00e9 vs cafe\u0301",
         "ΣΊΣΥΦΟΣ ΟΔΟΣ", "'s 't 're 've 'm 'll 'd", " 's", "a\u2028b", "A\u0301\u0316", "\ufffd\ufffd",
         "[CL\x00S]", "ß ẞ ǰ ΐ", "\U0001D165\U0001D16D", "ㄱ ㅏ 각", "a \u200b b"]


def pseudo_word(r):
    return "".join(r.choice(SYLLABLES) for _ in range(r.randint(2, 5)))


def caption(r):
    """One caption: a plain template, then 0-3 random perturbations."""
    words = ["a", r.choice(ADJS), r.choice(COLORS), r.choice(NOUNS), r.choice(VERBS), r.choice(PREPS),
             r.choice(PLACES)]
    if r.random() < 0.4:
        words += ["with", "a", r.choice(COLORS), r.choice(NOUNS)]
    if r.random() < 0.6:
        words.insert(r.randrange(len(words) + 1), pseudo_word(r))
    for _ in range(r.choice([0, 1, 1, 2, 2, 3])):
        kind = r.randrange(13)
        pos = r.randrange(len(words) + 1)
        if kind == 0:
            words[pos - 1 if pos else 0] += r.choice(PUNCT)
        elif kind == 1:
            words.insert(pos, r.choice(ACCENTED))
        elif kind == 2:
            words.insert(pos, r.choice(CJK))
        elif kind == 3:
            words.insert(pos, r.choice(EMOJI))
        elif kind == 4:
            words.insert(pos, r.choice(NUMBERS))
        elif kind == 5:  # a very long word
            n = r.choice([99, 100, 101, 120, 180])
            words.insert(pos, "".join(r.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(n)))
        elif kind == 6:
            words.insert(pos, r.choice(CONTRACTIONS))
        elif kind == 7:  # control characters, inside a word or alone
            i = r.randrange(len(words))
            w = words[i]
            j = r.randrange(len(w) + 1)
            words[i] = w[:j] + r.choice(CONTROLS) + w[j:]
        elif kind == 8:
            words = [w.upper() if r.random() < 0.5 else w.capitalize() for w in words]
        elif kind == 9:
            words.insert(pos, r.choice(SPECIALS))
        elif kind == 10:  # a punctuation cluster glued to a word
            words.insert(pos, "".join(r.choice(PUNCT) for _ in range(r.randint(2, 4))) + r.choice(NOUNS))
        elif kind == 11:
            words.insert(pos, r.choice(NOUNS) + r.choice(["s", "ing", "ed", "ly", "ness", "er", "est"]))
        else:
            for _ in range(r.randint(1, 3)):
                words.insert(pos, pseudo_word(r))
    seps = [r.choice(SPACES) if r.random() < 0.1 else " " for _ in words]
    text = "".join(w + s for w, s in zip(words, seps)).rstrip(" ")
    if r.random() < 0.05:
        text = r.choice(SPACES) + text + r.choice(SPACES)
    return text


def build_corpus(seed):
    r = random.Random(seed)
    corpus = list(FIXED)
    while len(corpus) < NUM_CAPTIONS:
        corpus.append(caption(r))
    return corpus


def build_wordpiece_vocab(corpus):
    """Specials; the characters seen at least 3 times (as themselves and as "##" pieces), so rarer
    ones give [UNK]; whole words seen at least 3 times; frequent word suffixes ("##ing") and
    prefixes. Deterministic: every list is ordered by (count desc, text)."""
    basic = BasicTokenizer(do_lower_case=True)
    words = collections.Counter()
    for c in corpus:
        words.update(basic.tokenize(c))
    chars = collections.Counter()
    for w, n in words.items():
        for ch in w:
            chars[ch] += n
    def top(counter, k, min_count):
        items = sorted(((n, t) for t, n in counter.items() if n >= min_count), key=lambda x: (-x[0], x[1]))
        return [t for _, t in items[:k]]
    alphabet = top(chars, 400, 3)
    whole = top(collections.Counter({w: n for w, n in words.items() if len(w) >= 2 and len(w) <= 30}), 1500, 3)
    suffixes, prefixes = collections.Counter(), collections.Counter()
    for w, n in words.items():
        if w in whole or len(w) > 30:
            continue
        for k in range(2, min(6, len(w)) + 1):
            suffixes[w[-k:]] += n
            prefixes[w[:k]] += n
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    seen = set(vocab)
    def add(t):
        if t not in seen:
            seen.add(t)
            vocab.append(t)
    for ch in alphabet:
        add(ch)
    for ch in alphabet:
        add("##" + ch)
    for w in whole:
        add(w)
    for s in top(suffixes, 900, 2):
        add("##" + s)
    for p in top(prefixes, 900, 2):
        add(p)
    return vocab


def build_bpe(corpus, tmp):
    bpe = ByteLevelBPETokenizer()
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    bpe.train_from_iterator(corpus, vocab_size=256 + len(specials) + BPE_MERGES, min_frequency=2,
                            special_tokens=specials, show_progress=False)
    bpe.save_model(tmp)
    with open(os.path.join(tmp, "vocab.json"), encoding="utf-8") as f:
        vocab = json.load(f)
    with open(os.path.join(tmp, "merges.txt"), encoding="utf-8") as f:
        lines = f.read().split("\n")
    header, merges = lines[0], [l for l in lines[1:] if l]
    # bytes_to_unicode(), as in transformers' tokenization_gpt2.py
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    byte_char = dict(zip(bs, map(chr, cs)))
    dropped = {byte_char[b] for b in BPE_DROPPED_BYTES}
    keep = [t for t, _ in sorted(vocab.items(), key=lambda kv: kv[1]) if not (set(t) & dropped) or t in specials]
    vocab = {t: i for i, t in enumerate(keep)}
    merges = [m for m in merges if not (set(m.replace(" ", "")) & dropped)]
    vocab_text = json.dumps(vocab, ensure_ascii=False, indent=0) + "\n"
    merges_text = header + "\n" + "\n".join(merges) + "\n"
    return vocab_text, merges_text, len(merges)


def encode_all(tok, corpus):
    truncated_ids, truncated_mask, full_ids = [], [], []
    for c in corpus:
        e = tok(c, max_length=MAX_LENGTH, truncation=True, padding="max_length")
        truncated_ids.append(e["input_ids"])
        truncated_mask.append(e["attention_mask"])
        f = tok(c)
        assert all(m == 1 for m in f["attention_mask"])
        full_ids.append(f["input_ids"])
    return {"truncated_input_ids": truncated_ids, "truncated_attention_mask": truncated_mask,
            "full_input_ids": full_ids}


def rows(obj):
    """JSON with one caption's list per line (small diffs, readable)."""
    parts = []
    for key, value in obj.items():
        if isinstance(value, list) and value and isinstance(value[0], list):
            inner = ",\n".join("  " + json.dumps(v, separators=(",", ":")) for v in value)
            parts.append(f"{json.dumps(key)}: [\n{inner}\n]")
        else:
            parts.append(f"{json.dumps(key)}: {json.dumps(value, ensure_ascii=False, sort_keys=True)}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


def generate(seed):
    corpus = build_corpus(seed)
    files = {"corpus.json": "[\n" + ",\n".join(json.dumps(c) for c in corpus) + "\n]\n"}
    files["wordpiece_vocab.txt"] = "\n".join(build_wordpiece_vocab(corpus)) + "\n"
    with tempfile.TemporaryDirectory() as tmp:
        files["bpe_vocab.json"], files["bpe_merges.txt"], n_merges = build_bpe(corpus, tmp)
        for name in ("wordpiece_vocab.txt", "bpe_vocab.json", "bpe_merges.txt"):
            with open(os.path.join(tmp, name), "w", encoding="utf-8") as f:
                f.write(files[name])
        bert = BertTokenizer(os.path.join(tmp, "wordpiece_vocab.txt"), do_lower_case=True)
        roberta = RobertaTokenizer(os.path.join(tmp, "bpe_vocab.json"), os.path.join(tmp, "bpe_merges.txt"))
        wp, bp = encode_all(bert, corpus), encode_all(roberta, corpus)
    # The vocabularies must exercise what the C++ tests are meant to cover.
    wp_flat = [i for row in wp["full_input_ids"] for i in row]
    assert bert.unk_token_id in wp_flat and any(bert.convert_ids_to_tokens(i).startswith("##") for i in wp_flat)
    assert roberta.unk_token_id in [i for row in bp["full_input_ids"] for i in row]
    assert any(len(r) > MAX_LENGTH for r in wp["full_input_ids"]) and any(len(r) > MAX_LENGTH for r in bp["full_input_ids"])
    meta = {"seed": seed, "max_length": MAX_LENGTH, "captions": len(corpus), "bpe_merges": n_merges,
            "wordpiece_vocab_size": len(bert.vocab), "bpe_vocab_size": len(roberta.encoder),
            "oracle": "transformers BertTokenizer(do_lower_case=True) and RobertaTokenizer (slow, Python)",
            "versions": {"python": sys.version.split()[0], "transformers": transformers.__version__,
                         "tokenizers": tokenizers.__version__, "regex": __import__("regex").__version__}}
    files["expected.json"] = rows({"meta": meta, **{f"wordpiece_{k}": v for k, v in wp.items()},
                                   **{f"bpe_{k}": v for k, v in bp.items()}})
    return files


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=6)
    ap.add_argument("--check", action="store_true", help="regenerate in memory and compare with the files")
    args = ap.parse_args()
    transformers.logging.set_verbosity_error()  # "sequence longer than the model's maximum" warnings
    files = generate(args.seed)
    if args.check:
        bad = []
        for name, text in files.items():
            path = os.path.join(OUT, name)
            if not os.path.exists(path) or open(path, encoding="utf-8", newline="").read() != text:
                bad.append(name)
        print("golden tokenizer files are up to date" if not bad else f"differ: {bad}")
        sys.exit(1 if bad else 0)
    os.makedirs(OUT, exist_ok=True)
    total = 0
    for name, text in files.items():
        with open(os.path.join(OUT, name), "w", encoding="utf-8", newline="") as f:
            f.write(text)
        total += len(text.encode("utf-8"))
        print(f"wrote {name} ({len(text.encode('utf-8'))} bytes)")
    print(f"total {total} bytes")


if __name__ == "__main__":
    main()
