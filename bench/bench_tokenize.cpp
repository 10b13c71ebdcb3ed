// tokenize_wordpiece_10k: WordPiece-encode 10,000 captions (the 1,200 captions of the tokenizer golden
// corpus, repeated in order) with max_length 32 into input_ids / attention_mask [10000, 32] i64
// tensors, in parallel on MMALIGN_THREADS threads. Peer: bench/peers/tokenize_wordpiece_10k.py (the
// Hugging Face fast tokenizer, BertTokenizerFast, same vocabulary and captions).
#include <fstream>
#include <nlohmann/json.hpp>

#include "bench/bench_common.h"
#include "data/tokenizers/wordpiece.h"

namespace {

// The repository root, from this file's path (the bench target has no source-dir definition).
std::string repo_root() {
  std::string f = __FILE__;
  return f.substr(0, f.rfind("/bench/"));
}

void tokenize_wordpiece_10k(benchmark::State& state) {
  const std::string dir = repo_root() + "/tests/golden/tokenizers/";
  std::ifstream in(dir + "corpus.json");
  if (!in.good()) {
    state.SkipWithError(("cannot open " + dir + "corpus.json").c_str());
    return;
  }
  const auto corpus = nlohmann::json::parse(in).get<std::vector<std::string>>();
  std::vector<std::string> texts;
  for (size_t i = 0; i < 10000; ++i) texts.push_back(corpus[i % corpus.size()]);
  const mm::data::WordPieceTokenizer tok(dir + "wordpiece_vocab.txt");
  for (auto _ : state) {
    mm::data::BatchEncoding b = tok.encode_batch(texts, 32);
    benchmark::DoNotOptimize(b.input_ids.raw_data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(texts.size()));
}

}  // namespace

BENCHMARK(tokenize_wordpiece_10k)->UseRealTime()->Unit(benchmark::kMillisecond);
