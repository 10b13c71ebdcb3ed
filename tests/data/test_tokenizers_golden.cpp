// The tokenizers against Hugging Face: every caption of the golden corpus (tools/golden/tokenizers.py:
// 1,200 captions with punctuation, accents, CJK, emoji, control characters, very long words, special
// token strings, ...) must give exactly the ids BertTokenizer / RobertaTokenizer gave, truncated and
// padded to 32 and untruncated.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "data/tokenizers/bpe.h"
#include "data/tokenizers/wordpiece.h"

namespace {

using mm::data::Tokenizer;
using nlohmann::json;

const std::string kDir = std::string(MMALIGN_SOURCE_DIR) + "/tests/golden/tokenizers/";

json load_json(const std::string& name) {
  std::ifstream in(kDir + name);
  EXPECT_TRUE(in.good()) << kDir + name;
  return json::parse(in);
}

std::string show(const std::vector<int64_t>& v) {
  std::ostringstream os;
  for (size_t i = 0; i < v.size(); ++i) os << (i ? " " : "") << v[i];
  return os.str();
}

// Compares every caption; returns the number of mismatching captions (reported, then asserted 0).
int compare_corpus(const Tokenizer& tok, const std::string& prefix) {
  const json corpus = load_json("corpus.json");
  const json expected = load_json("expected.json");
  const int64_t max_length = expected["meta"]["max_length"].get<int64_t>();
  const auto& t_ids = expected[prefix + "_truncated_input_ids"];
  const auto& t_mask = expected[prefix + "_truncated_attention_mask"];
  const auto& f_ids = expected[prefix + "_full_input_ids"];
  EXPECT_EQ(corpus.size(), t_ids.size());
  EXPECT_GE(corpus.size(), 1000u);
  int mismatches = 0, shown = 0;
  for (size_t i = 0; i < corpus.size(); ++i) {
    const std::string text = corpus[i].get<std::string>();
    const auto truncated = tok.encode(text, max_length);
    const auto full = tok.encode(text);
    const auto want_ids = t_ids[i].get<std::vector<int64_t>>();
    const auto want_mask = t_mask[i].get<std::vector<int64_t>>();
    const auto want_full = f_ids[i].get<std::vector<int64_t>>();
    const bool full_mask_ok =
        full.attention_mask.size() == want_full.size() &&
        std::all_of(full.attention_mask.begin(), full.attention_mask.end(), [](int64_t m) { return m == 1; });
    const bool ok = truncated.ids == want_ids && truncated.attention_mask == want_mask && full.ids == want_full &&
                    full_mask_ok;
    if (!ok) {
      ++mismatches;
      if (shown++ < 10)
        ADD_FAILURE() << prefix << " caption " << i << " " << corpus[i].dump() << "\n  ours: " << show(full.ids)
                      << "\n  HF:   " << show(want_full);
    }
  }
  std::printf("%s: %d of %zu captions differ from Hugging Face\n", prefix.c_str(), mismatches, corpus.size());
  return mismatches;
}

// encode_batch: the same ids as [N, 32] tensors, and padded to the longest without max_length.
void compare_batch(const Tokenizer& tok, const std::string& prefix) {
  const json corpus = load_json("corpus.json");
  const json expected = load_json("expected.json");
  const std::vector<std::string> texts = corpus.get<std::vector<std::string>>();
  const int64_t n = static_cast<int64_t>(texts.size());
  const auto batch = tok.encode_batch(texts, 32);
  ASSERT_EQ(batch.input_ids.shape(), (mm::Shape{n, 32}));
  ASSERT_EQ(batch.input_ids.dtype(), mm::DType::I64);
  ASSERT_EQ(batch.attention_mask.shape(), (mm::Shape{n, 32}));
  const int64_t* ids = batch.input_ids.data<int64_t>();
  const int64_t* mask = batch.attention_mask.data<int64_t>();
  int bad = 0;
  for (int64_t i = 0; i < n; ++i) {
    const auto want_ids = expected[prefix + "_truncated_input_ids"][i].get<std::vector<int64_t>>();
    const auto want_mask = expected[prefix + "_truncated_attention_mask"][i].get<std::vector<int64_t>>();
    bad += std::vector<int64_t>(ids + i * 32, ids + i * 32 + 32) != want_ids ||
           std::vector<int64_t>(mask + i * 32, mask + i * 32 + 32) != want_mask;
  }
  EXPECT_EQ(bad, 0) << "rows of encode_batch(max_length 32) that differ";
  // Padded to the longest untruncated caption.
  const auto longest = tok.encode_batch(texts);
  size_t t = 0;
  for (const auto& row : expected[prefix + "_full_input_ids"]) t = std::max(t, row.size());
  ASSERT_EQ(longest.input_ids.shape(), (mm::Shape{n, static_cast<int64_t>(t)}));
  const int64_t* lid = longest.input_ids.data<int64_t>();
  const int64_t* lmask = longest.attention_mask.data<int64_t>();
  bad = 0;
  for (int64_t i = 0; i < n; ++i) {
    auto want = expected[prefix + "_full_input_ids"][i].get<std::vector<int64_t>>();
    std::vector<int64_t> want_mask(want.size(), 1);
    want.resize(t, tok.special_ids().pad);
    want_mask.resize(t, 0);
    bad += std::vector<int64_t>(lid + i * t, lid + (i + 1) * t) != want ||
           std::vector<int64_t>(lmask + i * t, lmask + (i + 1) * t) != want_mask;
  }
  EXPECT_EQ(bad, 0) << "rows of encode_batch(pad to longest) that differ";
}

TEST(TokenizersGolden, WordPieceMatchesBertTokenizer) {
  mm::data::WordPieceTokenizer tok(kDir + "wordpiece_vocab.txt");
  EXPECT_EQ(compare_corpus(tok, "wordpiece"), 0);
}

TEST(TokenizersGolden, BpeMatchesRobertaTokenizer) {
  mm::data::BpeTokenizer tok(kDir + "bpe_vocab.json", kDir + "bpe_merges.txt");
  EXPECT_EQ(compare_corpus(tok, "bpe"), 0);
  // Second pass: every pre-token now comes from the cache.
  EXPECT_EQ(compare_corpus(tok, "bpe"), 0);
}

TEST(TokenizersGolden, EncodeBatchWordPiece) {
  compare_batch(mm::data::WordPieceTokenizer(kDir + "wordpiece_vocab.txt"), "wordpiece");
}

TEST(TokenizersGolden, EncodeBatchBpe) {
  compare_batch(mm::data::BpeTokenizer(kDir + "bpe_vocab.json", kDir + "bpe_merges.txt"), "bpe");
}

}  // namespace
