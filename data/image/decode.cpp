// stb_image behind a checked interface: magic-byte format check, header-only size check, then the
// decode. The stb implementation is compiled into Debian's libstb (no STB_IMAGE_IMPLEMENTATION here).
#include "data/image/decode.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-function"
#include <stb_image.h>
#pragma GCC diagnostic pop

#include "data/image/jpeg_check.h"
#include "runtime/error.h"

namespace mm::data {

namespace {

constexpr const char* kOp = "image decode";

const char* stb_reason() {
  const char* r = stbi_failure_reason();
  return r ? r : "unknown error";
}

// stb spells some reasons tersely ("outofdata"); say what they mean where it is not obvious.
std::string explain(const char* reason) {
  std::string r(reason);
  if (r == "outofdata" || r == "no SOI" || r == "bad huffman code" || r == "expected marker" ||
      r == "no IDAT" || r == "bad zlib header" || r == "bad codelengths" || r == "unexpected end" ||
      r == "read past buffer")
    return r + " (truncated or corrupt file)";
  return r;
}

// Decoding one photo allocates and frees a few buffers of 0.1–1 MB (stb's component planes and
// output, our pixels, the tensor). glibc returns such memory to the kernel when it is freed (heap
// trimming above 128 KB of free top, or munmap) and faults it back in, page by page, for the next
// image: about 30% of the CPU time of decode + crop + normalise of a 500x375 JPEG (measured with
// perf on bench image_pipeline_1t). Once per process, keep blocks under 32 MiB (glibc's own dynamic
// ceiling) on the heap and retain up to 64 MiB of free heap, unless the user tuned malloc through
// the environment. Cost: at most 64 MiB of freed memory stays mapped.
void keep_image_buffers_on_heap() {
#ifdef __GLIBC__
  static std::once_flag once;
  std::call_once(once, [] {
    if (std::getenv("MALLOC_TRIM_THRESHOLD_") || std::getenv("MALLOC_MMAP_THRESHOLD_") || std::getenv("GLIBC_TUNABLES"))
      return;
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
  });
#endif
}

}  // namespace

const char* image_format_name(ImageFormat f) {
  switch (f) {
    case ImageFormat::Jpeg: return "JPEG";
    case ImageFormat::Png: return "PNG";
    case ImageFormat::Bmp: return "BMP";
    case ImageFormat::Unknown: break;
  }
  return "unknown";
}

ImageFormat sniff_image_format(const uint8_t* d, size_t n) {
  static const uint8_t png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  if (n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF) return ImageFormat::Jpeg;
  if (n >= 8 && std::memcmp(d, png, 8) == 0) return ImageFormat::Png;
  if (n >= 2 && d[0] == 'B' && d[1] == 'M') return ImageFormat::Bmp;
  return ImageFormat::Unknown;
}

Image decode_image(const uint8_t* data, size_t size, const std::string& name, const DecodeOptions& options) {
  MM_CHECK(size > 0, Value, kOp, name, ": empty file");
  MM_CHECK(size <= static_cast<size_t>(INT_MAX), Value, kOp, name, ": ", size,
           " bytes is larger than the decoder accepts (2 GiB)");
  keep_image_buffers_on_heap();
  const ImageFormat fmt = sniff_image_format(data, size);
  MM_CHECK(fmt != ImageFormat::Unknown, Value, kOp, name,
           ": unsupported format (not a JPEG, PNG or BMP file; first bytes do not match)");
  const int len = static_cast<int>(size);

  int w = 0, h = 0, comp = 0;
  if (!stbi_info_from_memory(data, len, &w, &h, &comp))
    fail(ErrorKind::Value, kOp, name, ": unreadable ", image_format_name(fmt), " header: ", explain(stb_reason()));
  MM_CHECK(w > 0 && h > 0, Value, kOp, name, ": image has no pixels (", w, "x", h, ")");
  const int64_t pixels = static_cast<int64_t>(w) * h;
  MM_CHECK(pixels <= options.max_pixels, Value, kOp, name, ": ", w, "x", h, " = ", pixels,
           " pixels exceeds the limit of ", options.max_pixels, " (DecodeOptions::max_pixels)");

  if (fmt == ImageFormat::Jpeg) {  // stb 2.27's unsafe cases (jpeg_check.h), before stb decodes
    const std::string bad = detail::check_jpeg_structure(data, size);
    if (!bad.empty()) fail(ErrorKind::Value, kOp, name, ": corrupt JPEG: ", bad);
  }
  // stb converts grey/grey+alpha/RGBA/palette to the requested channels (alpha dropped for 3) and
  // 16-bit samples to 8-bit by keeping the high byte. For colour JPEGs we ask for RGBA and drop the
  // alpha ourselves: stb's SSE2 YCbCr→RGB kernel only runs for 4 output channels (3 takes its
  // scalar loop, with the same integer arithmetic and so the same values), and the JPEG decode as
  // a whole gets about 20% faster; the copy out of stb's buffer happens either way.
  const int want = fmt == ImageFormat::Jpeg && comp == 3 ? 4 : 3;
  int dw = 0, dh = 0, dcomp = 0;
  std::unique_ptr<stbi_uc, void (*)(void*)> px(stbi_load_from_memory(data, len, &dw, &dh, &dcomp, want), stbi_image_free);
  if (!px) fail(ErrorKind::Value, kOp, name, ": corrupt ", image_format_name(fmt), ": ", explain(stb_reason()));
  // The header and the body agree in every format stb reads; check rather than trust it.
  MM_CHECK(dw == w && dh == h, Value, kOp, name, ": header says ", w, "x", h, " but the decoder produced ", dw, "x", dh);

  Image img(dw, dh);
  const uint8_t* src = px.get();
  uint8_t* dst = img.pixels.data();
  if (want == 3) {
    std::memcpy(dst, src, static_cast<size_t>(pixels) * 3);
  } else {
    for (int64_t i = 0; i < pixels; ++i, src += 4, dst += 3) dst[0] = src[0], dst[1] = src[1], dst[2] = src[2];
  }
  return img;
}

Image decode_image_file(const std::string& path, const DecodeOptions& options) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), std::fclose);
  if (!f) fail(ErrorKind::Runtime, kOp, path, ": cannot open: ", std::strerror(errno));
  // Read in one call when the size is known (a regular file), in chunks otherwise (a pipe).
  std::vector<uint8_t> bytes;
  if (std::fseek(f.get(), 0, SEEK_END) == 0) {
    const long end = std::ftell(f.get());
    if (end > 0) bytes.reserve(static_cast<size_t>(end) + 1);  // + 1: the first read then sees the end
    std::rewind(f.get());
  }
  size_t got = 0;
  for (;;) {
    bytes.resize(std::max<size_t>(bytes.capacity(), got + (1 << 16)));
    const size_t n = std::fread(bytes.data() + got, 1, bytes.size() - got, f.get());
    got += n;
    if (got < bytes.size()) break;
  }
  bytes.resize(got);
  if (std::ferror(f.get())) fail(ErrorKind::Runtime, kOp, path, ": read error: ", std::strerror(errno));
  return decode_image(bytes.data(), bytes.size(), path, options);
}

}  // namespace mm::data
