#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "runtime/crc32c.h"
#include "runtime/error.h"

namespace mm {
namespace {

// Known answers: RFC 3720 (iSCSI) B.4 test vectors and the common "123456789" check value.
TEST(Crc32c, KnownAnswers) {
  EXPECT_EQ(crc32c("123456789", 9), 0xE3069283u);
  std::string zeros(32, '\0'), ones(32, '\xff'), inc(32, '\0');
  for (int i = 0; i < 32; ++i) inc[static_cast<size_t>(i)] = static_cast<char>(i);
  EXPECT_EQ(crc32c(zeros.data(), 32), 0x8A9136AAu);
  EXPECT_EQ(crc32c(ones.data(), 32), 0x62A8AB43u);
  EXPECT_EQ(crc32c(inc.data(), 32), 0x46DD794Eu);
  EXPECT_EQ(crc32c("", 0), 0u);
}

TEST(Crc32c, ExtendsAcrossPieces) {
  const std::string s = "image-text alignment";
  EXPECT_EQ(crc32c(s.data() + 5, s.size() - 5, crc32c(s.data(), 5)), crc32c(s.data(), s.size()));
}

// TensorFlow's masked CRC of "123456789": ((0xE3069283 >> 15) | (0xE3069283 << 17)) + 0xa282ead8.
TEST(Crc32c, Masked) {
  const uint32_t c = 0xE3069283u;
  EXPECT_EQ(masked_crc32c("123456789", 9), ((c >> 15) | (c << 17)) + 0xa282ead8u);
}

TEST(Crc32c, FileMatchesBufferAndMissingFileIsAnError) {
  const auto path = std::filesystem::temp_directory_path() / ("mmalign_crc32c_test_" + std::to_string(::getpid()) + ".bin");
  std::string data(3 << 20, 'x');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 31 + 7);
  std::ofstream(path, std::ios::binary).write(data.data(), static_cast<std::streamsize>(data.size()));
  EXPECT_EQ(crc32c_file(path.string()), crc32c(data.data(), data.size()));
  std::filesystem::remove(path);
  EXPECT_THROW(crc32c_file(path.string()), Error);
}

}  // namespace
}  // namespace mm
