// mmalign vocab build: the word-level vocabulary (CMPM setup) of a captions file, written as
// vocab.txt (one token per line, id = line number; <pad> <unk> <start> <end> first).
#include <cstdio>

#include "apps/commands.h"
#include "data/tokenizers/word_vocab.h"

namespace mm::app {

int run_vocab_build(const VocabBuildArgs& a) {
  const std::vector<std::string> captions = data::read_captions_file(a.captions);
  data::WordVocabStats st;
  const std::vector<std::string> vocab = data::build_word_vocab(captions, a.min_count, &st);
  data::write_vocab_txt(vocab, a.out);
  std::printf("vocab build: %lld captions, %lld words, %lld distinct; %lld seen at least %lld times -> %s (%zu tokens "
              "with <pad> <unk> <start> <end>)\n",
              static_cast<long long>(st.captions), static_cast<long long>(st.words),
              static_cast<long long>(st.distinct), static_cast<long long>(st.kept),
              static_cast<long long>(a.min_count), a.out.c_str(), vocab.size());
  return 0;
}

}  // namespace mm::app
