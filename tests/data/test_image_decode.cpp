// The image decoder (data/image/decode.h) against what PIL decodes (tests/golden/images/, written by
// tools/golden/images.py), its errors, the pixel limit, and a fuzz of damaged files.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "data/image/decode.h"
#include "runtime/safetensors.h"

namespace mm::data {
namespace {

const std::string kDir = std::string(MMALIGN_SOURCE_DIR) + "/tests/golden/images/";

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  EXPECT_TRUE(f.good()) << path;
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

// Largest |a − b| over all samples; -1 when the shapes differ.
int max_diff(const Image& img, const Tensor& ref) {
  if (ref.dim() != 3 || ref.size(0) != img.height || ref.size(1) != img.width || ref.size(2) != 3) return -1;
  const uint8_t* r = ref.data<uint8_t>();
  int m = 0;
  for (size_t i = 0; i < img.pixels.size(); ++i) m = std::max(m, std::abs(int(img.pixels[i]) - int(r[i])));
  return m;
}

std::string error_of(const std::string& path, const DecodeOptions& o = {}) {
  try {
    decode_image_file(path, o);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ImageDecode, MatchesPil) {
  const auto golden = safetensors::File::open(kDir + "decoded.safetensors");
  int checked = 0, jpeg_max = 0;
  for (const auto& info : golden.tensors()) {
    if (info.name.rfind("decoded/", 0) != 0) continue;
    const std::string file = info.name.substr(8);
    SCOPED_TRACE(file);
    const Image img = decode_image_file(kDir + file);
    const bool jpeg = file.size() > 4 && file.substr(file.size() - 4) == ".jpg";
    if (file == "grey16.png") {
      // PIL clamps 16-bit grey to 255 (mode "I" → "RGB"); we keep the high byte (decode.h).
      EXPECT_EQ(max_diff(img, golden.load("expected/grey16.png")), 0);
      EXPECT_GT(max_diff(img, golden.load(info.name)), 0) << "PIL's clamping no longer differs: update decode.h";
    } else if (jpeg) {
      // stb's IDCT and chroma upsampling are not libjpeg-turbo's: a few levels apart.
      const int d = max_diff(img, golden.load(info.name));
      EXPECT_GE(d, 0);
      EXPECT_LE(d, 3);
      jpeg_max = std::max(jpeg_max, d);
      std::printf("  %-18s max |stb - PIL| = %d\n", file.c_str(), d);
    } else {
      EXPECT_EQ(max_diff(img, golden.load(info.name)), 0);  // lossless formats: identical
    }
    ++checked;
  }
  EXPECT_EQ(checked, 14);
  std::printf("  JPEG max difference over all files: %d\n", jpeg_max);
}

TEST(ImageDecode, MemoryEqualsFile) {
  for (const char* f : {"rgb.png", "progressive.jpg", "rgb.bmp", "palette_trns.png"}) {
    const std::vector<uint8_t> bytes = read_bytes(kDir + f);
    const Image a = decode_image(bytes.data(), bytes.size(), f);
    const Image b = decode_image_file(kDir + f);
    EXPECT_EQ(a.width, 37);
    EXPECT_EQ(a.height, 29);
    EXPECT_EQ(a.pixels, b.pixels) << f;
  }
}

TEST(ImageDecode, ErrorsNameTheFileAndReason) {
  struct Case {
    std::string file, reason;
  };
  for (const Case& c : {Case{"missing.png", "cannot open"}, Case{"truncated.jpg", "corrupt JPEG"},
                        Case{"truncated.png", "corrupt PNG"}, Case{"not_an_image.txt", "unsupported format"}}) {
    const std::string msg = error_of(kDir + c.file);
    EXPECT_NE(msg.find(kDir + c.file), std::string::npos) << msg;
    EXPECT_NE(msg.find(c.reason), std::string::npos) << msg;
  }
  const std::string empty = testing::TempDir() + "mm_empty_image.png";
  std::ofstream(empty).close();
  const std::string msg = error_of(empty);
  EXPECT_NE(msg.find(empty), std::string::npos) << msg;
  EXPECT_NE(msg.find("empty file"), std::string::npos) << msg;
  std::remove(empty.c_str());
  EXPECT_EQ(sniff_image_format(nullptr, 0), ImageFormat::Unknown);
}

TEST(ImageDecode, PixelLimitFromTheHeader) {
  DecodeOptions o;
  o.max_pixels = 37 * 29;
  EXPECT_EQ(decode_image_file(kDir + "rgb.png", o).width, 37);  // exactly at the limit: fine
  o.max_pixels = 37 * 29 - 1;
  for (const char* f : {"rgb.png", "baseline.jpg", "rgb.bmp"}) {
    const std::string msg = error_of(kDir + f, o);
    EXPECT_NE(msg.find("37x29 = 1073 pixels exceeds the limit of 1072"), std::string::npos) << msg;
    EXPECT_NE(msg.find(f), std::string::npos) << msg;
  }
  // A PNG whose header claims 10000 x 6000 and which has no pixel data: the default 50 MP limit
  // must reject it from the header alone (a decode attempt would report missing data instead).
  std::vector<uint8_t> png = read_bytes(kDir + "rgb.png");
  png.resize(33);  // signature + IHDR chunk (stb does not check its CRC)
  const uint8_t size[8] = {0x00, 0x00, 0x27, 0x10, 0x00, 0x00, 0x17, 0x70};  // width, height (big-endian)
  std::copy(size, size + 8, png.begin() + 16);
  try {
    decode_image(png.data(), png.size(), "huge.png");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("huge.png: 10000x6000 = 60000000 pixels exceeds the limit of 50000000"),
              std::string::npos)
        << e.what();
  }
}

// The two stb 2.27 memory-safety bugs data/image/jpeg_check.h guards against, built from a valid
// file: a scan using a Huffman table no DHT defined, and a DHT with more than 256 codes.
TEST(ImageDecode, JpegStructureCheckRejectsWhatStbMishandles) {
  const std::vector<uint8_t> good = read_bytes(std::string(kDir) + "baseline.jpg");
  size_t dht = 0;
  for (size_t i = 2; i + 1 < good.size(); ++i)
    if (good[i] == 0xFF && good[i + 1] == 0xC4) {
      dht = i;
      break;
    }
  ASSERT_GT(dht, 0u);
  ASSERT_EQ(good[dht + 4], 0x00);  // Pillow writes the DC table 0 first
  auto message = [](const std::vector<uint8_t>& b) -> std::string {
    try {
      decode_image(b.data(), b.size(), "crafted.jpg");
    } catch (const Error& e) {
      return e.what();
    }
    return "(no error)";
  };
  std::vector<uint8_t> undefined = good;
  undefined[dht + 4] = 0x02;  // defines DC table 2 instead: the scans' DC table 0 is missing
  EXPECT_NE(message(undefined).find("crafted.jpg: corrupt JPEG: scan uses an undefined Huffman table"), std::string::npos)
      << message(undefined);
  std::vector<uint8_t> too_many = good;
  too_many[dht + 5 + 8] = 0xFF;  // 255 codes of length 9 on top of the others
  EXPECT_NE(message(too_many).find("crafted.jpg: corrupt JPEG: Huffman table with more than 256 codes"), std::string::npos)
      << message(too_many);
  // Progressive: the first (DC) scan turned into a refinement of coefficients never decoded.
  std::vector<uint8_t> prog = read_bytes(std::string(kDir) + "progressive.jpg");
  size_t sos = 0;
  for (size_t i = 2; i + 1 < prog.size() && !sos; ++i)
    if (prog[i] == 0xFF && prog[i + 1] == 0xDA) sos = i;
  ASSERT_GT(sos, 0u);
  const size_t ahal = sos + 4 + 1 + 2 * prog[sos + 4] + 2;  // after Ls, Ns, the components, Ss, Se
  ASSERT_EQ(prog[ahal] >> 4, 0);
  prog[ahal] = static_cast<uint8_t>(0x30 | (prog[ahal] & 15));
  EXPECT_NE(message(prog).find("crafted.jpg: corrupt JPEG: progressive scan refines coefficients out of order"),
            std::string::npos)
      << message(prog);
}

// Damaged files never crash: every prefix, and random bit flips, either decode to an image of
// consistent size or throw mm::Error naming the data. (Run under ASan/UBSan in the sanitizer build.)
TEST(ImageDecode, FuzzTruncatedAndBitFlippedFiles) {
  DecodeOptions o;
  o.max_pixels = 1 << 20;  // flipped size fields would otherwise allocate large buffers
  std::mt19937 gen(1234);
  int errors = 0, decoded = 0;
  auto attempt = [&](const std::vector<uint8_t>& b) {
    try {
      const Image img = decode_image(b.data(), b.size(), "fuzz.bin", o);
      ASSERT_EQ(img.pixels.size(), static_cast<size_t>(img.width * img.height * 3));
      ++decoded;
    } catch (const Error& e) {
      ASSERT_NE(std::string(e.what()).find("fuzz.bin"), std::string::npos) << e.what();
      ++errors;
    }
  };
  for (const char* f : {"baseline.jpg", "progressive.jpg", "grey.jpg", "rgb.png", "palette.png", "rgb16.png",
                        "grey_alpha.png", "rgb.bmp", "grey.bmp"}) {
    SCOPED_TRACE(f);
    const std::vector<uint8_t> bytes = read_bytes(kDir + f);
    for (size_t n = 0; n < bytes.size(); n += 1 + bytes.size() / 300) attempt({bytes.begin(), bytes.begin() + n});
    for (int t = 0; t < 300; ++t) {
      std::vector<uint8_t> b = bytes;
      const int flips = 1 + static_cast<int>(gen() % 4);
      for (int k = 0; k < flips; ++k) b[gen() % b.size()] ^= static_cast<uint8_t>(1u << (gen() % 8));
      attempt(b);
    }
  }
  EXPECT_GT(errors, 100);
  EXPECT_GT(decoded, 100);  // flips in pixel data decode to (wrong) images: that is fine
}

}  // namespace
}  // namespace mm::data
