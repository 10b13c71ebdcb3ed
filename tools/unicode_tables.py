#!/usr/bin/env python3
"""Writes data/tokenizers/unicode_tables.inc: the Unicode data the tokenizers of data/tokenizers need.

The tables are taken from the very libraries the Hugging Face tokenizers we must match consult at run
time, so that a code point is classified the same way on both sides:

* BertTokenizer (transformers, pure Python) calls Python's `unicodedata` and `str.lower()`: the BERT
  flags, the lowercase / decomposition map and the canonical combining classes come from the running
  Python (3.11: Unicode 14.0.0).
* RobertaTokenizer pre-tokenizes with the third-party `regex` module, which carries its own (newer)
  Unicode data: \\p{L}, \\p{N} and \\s are probed from `regex` itself for every code point.

Run it with the Python that generates the golden files (it needs `regex`):

    /tmp/golden-venv/bin/python tools/unicode_tables.py            # rewrite the .inc
    /tmp/golden-venv/bin/python tools/unicode_tables.py --check    # exit 1 if the .inc differs

The script also asserts the properties the C++ code relies on (see `check_assumptions`).
"""
import argparse
import os
import sys
import unicodedata

import regex

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, "data", "tokenizers", "unicode_tables.inc")
MAX_CP = 0x110000
HANGUL_FIRST, HANGUL_LAST = 0xAC00, 0xD7A3

# Flag bits of the BERT table (must match data/tokenizers/unicode.h).
B_REMOVED, B_BOUNDARY, B_PUNCT, B_MN, B_PYSPACE = 1, 2, 4, 8, 16
# Flag bits of the byte-level BPE table.
P_LETTER, P_NUMBER, P_SPACE = 1, 2, 4


def chars():
    for cp in range(MAX_CP):
        if 0xD800 <= cp <= 0xDFFF:  # surrogates never reach the tokenizers (invalid UTF-8)
            continue
        yield cp, chr(cp)


# ---- BERT: transformers' BasicTokenizer predicates, copied from tokenization_bert.py -------------
def hf_is_whitespace(ch):
    if ch in (" ", "\t", "\n", "\r"):
        return True
    return unicodedata.category(ch) == "Zs"


def hf_is_control(ch):
    if ch in ("\t", "\n", "\r"):
        return False
    return unicodedata.category(ch).startswith("C")


def hf_is_punctuation(ch):
    cp = ord(ch)
    if (33 <= cp <= 47) or (58 <= cp <= 64) or (91 <= cp <= 96) or (123 <= cp <= 126):
        return True
    return unicodedata.category(ch).startswith("P")


def hf_is_cjk(cp):  # BasicTokenizer._is_chinese_char
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def bert_flags(cp, ch):
    f = 0
    removed = cp == 0 or cp == 0xFFFD or hf_is_control(ch)
    if removed:
        f |= B_REMOVED
    # A word boundary: _clean_text turns HF-whitespace into " ", and whitespace_tokenize's str.split()
    # also splits at the Python-whitespace characters _clean_text keeps (U+2028, U+2029).
    if not removed and (hf_is_whitespace(ch) or ch.isspace()):
        f |= B_BOUNDARY
    if hf_is_punctuation(ch):
        f |= B_PUNCT
    if unicodedata.category(ch) == "Mn":
        f |= B_MN
    if ch.isspace():
        f |= B_PYSPACE
    return f


def bert_map(ch):
    """What one code point becomes before accent stripping: tokenize()'s per-character lower(),
    BasicTokenizer's lower(), then NFD (BasicTokenizer's NFC in between changes nothing: asserted)."""
    return unicodedata.normalize("NFD", ch.lower().lower())


# ---- RoBERTa: the classes of the GPT-2 pattern, as the regex module sees them --------------------
RE_L, RE_N, RE_S = regex.compile(r"\p{L}"), regex.compile(r"\p{N}"), regex.compile(r"\s")


def bpe_flags(ch):
    f = 0
    if RE_L.match(ch):
        f |= P_LETTER
    if RE_N.match(ch):
        f |= P_NUMBER
    if RE_S.match(ch):
        f |= P_SPACE
    return f


def check_assumptions():
    """Properties the C++ pipeline relies on, which let it work one code point at a time."""
    for cp, ch in chars():
        f = bert_flags(cp, ch)
        low = ch.lower()
        if f & (B_REMOVED | B_BOUNDARY) or hf_is_cjk(cp):
            # Removed, boundary and CJK characters are classified before lowering: lowering must not
            # change them.
            assert low == ch, hex(cp)
        else:
            # ... and lowering/decomposing a kept character never yields one of those classes.
            for c in bert_map(ch):
                g = bert_flags(ord(c), c)
                assert not g & (B_REMOVED | B_BOUNDARY | B_PYSPACE), (hex(cp), hex(ord(c)))
                assert not hf_is_cjk(ord(c)), hex(cp)
        # lower() commutes with canonical decomposition, so NFC before lower() does not matter:
        # NFD(lower(NFC(x))) == NFD(lower(NFD(x))) for each composite; checked per code point.
        nfd = unicodedata.normalize("NFD", ch)
        lhs = unicodedata.normalize("NFD", ch.lower().lower())
        rhs = unicodedata.normalize("NFD", "".join(c.lower().lower() for c in nfd))
        assert lhs == rhs, hex(cp)
        # The per-character lower() pre-pass is context free only if 'Σ' is the only context-dependent
        # mapping: Python lowers a lone 'Σ' to 'σ', which is what the pre-pass sees.
    assert "Σ".lower() == "σ"


def runs(values):
    """[(first_cp, value)] at each change of value over all code points (surrogates take value 0...
    they cannot occur in valid UTF-8, so whatever they map to is never looked up)."""
    out, prev = [], None
    for cp in range(MAX_CP):
        v = values.get(cp, 0)
        if v != prev:
            out.append((cp, v))
            prev = v
    return out


def map_tables(mapping):
    """Splits {cp: str} into delta runs (single code point results, constant delta, stride 1 or 2)
    and multi entries (results of 0 or >= 2 code points)."""
    singles = sorted((cp, ord(s) - cp) for cp, s in mapping.items() if len(s) == 1)
    multi = sorted((cp, s) for cp, s in mapping.items() if len(s) != 1)
    delta_runs = []  # [first, last, delta, stride]
    for cp, d in singles:
        if delta_runs:
            r = delta_runs[-1]
            if r[2] == d and (r[3] == 0 or cp - r[1] == r[3]) and cp - r[1] in (1, 2):
                if r[3] == 0:
                    r[3] = cp - r[1]
                r[1] = cp
                continue
        delta_runs.append([cp, cp, d, 0])
    for r in delta_runs:
        if r[3] == 0:
            r[3] = 1
    pool, entries = [], []
    for cp, s in multi:
        entries.append((cp, len(pool), len(s)))
        pool.extend(ord(c) for c in s)
    return delta_runs, entries, pool


def fmt_rows(items, per_line, fmt):
    lines = []
    for i in range(0, len(items), per_line):
        lines.append("    " + " ".join(fmt(x) for x in items[i:i + per_line]))
    return "\n".join(lines)


def generate():
    check_assumptions()
    bflags, pflags, ccc, bmap, lower = {}, {}, {}, {}, {}
    for cp, ch in chars():
        f = bert_flags(cp, ch)
        if f:
            bflags[cp] = f
        p = bpe_flags(ch)
        if p:
            pflags[cp] = p
        c = unicodedata.combining(ch)
        if c:
            ccc[cp] = c
        if not (HANGUL_FIRST <= cp <= HANGUL_LAST):  # decomposed arithmetically in C++
            m = bert_map(ch)
            if m != ch:
                bmap[cp] = m
        else:
            assert ch.lower() == ch
        if ch.lower() != ch:
            lower[cp] = ch.lower()

    b_runs, p_runs, c_runs = runs(bflags), runs(pflags), runs(ccc)
    m_delta, m_entries, m_pool = map_tables(bmap)
    l_delta, l_entries, l_pool = map_tables(lower)

    o = []
    o.append("// GENERATED by tools/unicode_tables.py -- do not edit. Rerun the script to regenerate.")
    o.append(f"// Python unicodedata {unicodedata.unidata_version} (Python {sys.version.split()[0]}): BERT flags,")
    o.append("// lowercase, NFD and canonical combining classes. regex module "
             f"{regex.__version__} (its own Unicode data): the \\p{{L}} / \\p{{N}} / \\s classes of the")
    o.append("// GPT-2 pre-tokenization pattern. Included by data/tokenizers/unicode.cpp only.")
    o.append(f'static constexpr const char* kPythonUnicodeVersion = "{unicodedata.unidata_version}";')
    o.append(f'static constexpr const char* kRegexModuleVersion = "{regex.__version__}";')
    o.append("")
    o.append("// Run-length tables: value of [first, next entry's first).")
    for name, rs in (("kBertFlagRuns", b_runs), ("kBpeFlagRuns", p_runs), ("kCccRuns", c_runs)):
        o.append(f"static constexpr FlagRun {name}[{len(rs)}] = {{")
        o.append(fmt_rows(rs, 8, lambda r: f"{{0x{r[0]:X},{r[1]}}},"))
        o.append("};")
    for name, (delta, entries, pool) in (("kBertMap", (m_delta, m_entries, m_pool)),
                                         ("kLower", (l_delta, l_entries, l_pool))):
        o.append(f"// {name}: c -> c + delta for c in [first, last] step stride; then entries mapping to"
                 " 0 or several code points (in the pool).")
        o.append(f"static constexpr DeltaRun {name}Delta[{len(delta)}] = {{")
        o.append(fmt_rows(delta, 5, lambda r: f"{{0x{r[0]:X},0x{r[1]:X},{r[2]},{r[3]}}},"))
        o.append("};")
        o.append(f"static constexpr MultiEntry {name}Multi[{len(entries)}] = {{")
        o.append(fmt_rows(entries, 6, lambda e: f"{{0x{e[0]:X},{e[1]},{e[2]}}},"))
        o.append("};")
        o.append(f"static constexpr char32_t {name}Pool[{max(len(pool), 1)}] = {{")
        o.append(fmt_rows(pool or [0], 10, lambda c: f"0x{c:X},"))
        o.append("};")
    return "\n".join(o) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="compare with the committed file; write nothing")
    args = ap.parse_args()
    text = generate()
    if args.check:
        with open(OUT, encoding="utf-8") as f:
            same = f.read() == text
        print("unicode_tables.inc is up to date" if same else "unicode_tables.inc differs: rerun the script")
        sys.exit(0 if same else 1)
    with open(OUT, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {OUT} ({len(text)} bytes)")


if __name__ == "__main__":
    main()
