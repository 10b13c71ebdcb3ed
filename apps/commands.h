// The subcommands of the mmalign program. apps/ only parses arguments and calls the library.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mm::app {

struct GradcheckArgs {
  std::string op, module, model;
  bool all = false, list = false, json = false;
};
int run_gradcheck(const GradcheckArgs& args);

struct DemoArgs {
  int steps = 300;
  int threads = 0;  // 0: library default
  uint64_t seed = 0;
};
int run_demo(const DemoArgs& args);

struct EmbedArgs {
  std::string checkpoint, config, weights, weights_format = "mmalign", images, captions, inputs, out;
  bool raw = false;
};
int run_embed(const EmbedArgs& args);

struct SummaryArgs {
  std::string config;
};
int run_summary(const SummaryArgs& args);

struct DataSynthArgs {
  std::string out;
  int64_t n = 10000;  // images in all: 90% train, 5% val, 5% test
  uint64_t seed = 0;
  int64_t image_size = 64;
};
int run_data_synth(const DataSynthArgs& args);

struct TrainArgs {
  std::string config, out = "runs/latest", resume;
  std::vector<std::string> overrides;
};
int run_train(const TrainArgs& args);

struct DataCheckArgs {
  std::string config;
  bool json = false;
};
int run_data_check(const DataCheckArgs& args);

struct TokenizeArgs {
  std::string tokenizer, vocab, merges, text, file;
  bool has_text = false;  // --text given (it may be the empty string)
  int64_t max_len = 0;    // 0: neither truncated nor padded
  bool json = false;
};
int run_tokenize(const TokenizeArgs& args);

struct VocabBuildArgs {
  std::string captions, out;
  int64_t min_count = 1;
};
int run_vocab_build(const VocabBuildArgs& args);

struct EvalArgs {
  std::string checkpoint, data, split = "test", embeddings;
  int64_t chunk_rows = 1024;
  bool json = false;
};
int run_eval(const EvalArgs& args);

struct ReportArgs {
  std::string run, out;  // out empty: RUN/report.html
};
int run_report(const ReportArgs& args);

struct ZeroShotArgs {
  std::string checkpoint, image, labels;
  std::vector<std::string> templates;
  bool json = false;
};
int run_zeroshot(const ZeroShotArgs& args);

struct SearchArgs {
  std::string checkpoint, index, query;
  int64_t k = 5;
  bool json = false;
};
int run_search(const SearchArgs& args);

struct AblateArgs {
  std::string config, rungs, out;
  std::vector<std::string> overrides;
};
int run_ablate(const AblateArgs& args);

}  // namespace mm::app
