"""Peer of mmalign_bench tokenize_wordpiece_10k: the Hugging Face fast tokenizer (BertTokenizerFast,
Rust `tokenizers`) encodes the same 10,000 captions with the same vocabulary, truncation to 32 and
padding to 32, returning PyTorch tensors. Its Rust thread pool gets MMALIGN_THREADS threads.

Needs transformers + tokenizers, which Debian's /usr/bin/python3 lacks: run the comparison with
    bench/run_compare.py --cases tokenize_wordpiece_10k --python /tmp/golden-venv/bin/python
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import run, threads  # noqa: E402

# Rayon reads its thread count once, when the pool starts: set it before tokenizers is imported.
os.environ["RAYON_NUM_THREADS"] = str(threads())
os.environ["RAYON_RS_NUM_CPUS"] = str(threads())
os.environ["TOKENIZERS_PARALLELISM"] = "true"
try:
    from transformers import BertTokenizerFast  # noqa: E402
except ImportError as e:
    sys.exit(f"tokenize_wordpiece_10k peer: transformers/tokenizers not importable under {sys.executable} ({e}); "
             "run with --python /tmp/golden-venv/bin/python")

GOLDEN = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                      "tests", "golden", "tokenizers")


def setup():
    with open(os.path.join(GOLDEN, "corpus.json"), encoding="utf-8") as f:
        corpus = json.load(f)
    texts = [corpus[i % len(corpus)] for i in range(10000)]
    tok = BertTokenizerFast(vocab_file=os.path.join(GOLDEN, "wordpiece_vocab.txt"), do_lower_case=True)
    return tok, texts


def iteration(s):
    tok, texts = s
    return tok(texts, max_length=32, truncation=True, padding="max_length", return_tensors="pt")


run("tokenize_wordpiece_10k", setup, iteration, default_reps=5, default_warmup=1, min_time=0.2,
    extra=lambda o: {"captions_per_second": 10000 / o["seconds_per_iter"]})
