// Image decoding (SPEC §6 "Images"): JPEG (baseline and progressive), PNG (8- and 16-bit, grey,
// grey+alpha, palette, RGB, RGBA) and BMP → 8-bit RGB, through stb_image (Debian libstb-dev).
//
// What the pixels are, compared with PIL's Image.open(f).convert("RGB") (tests/data/test_image_decode.cpp
// checks each against tools/golden/images.py):
//   - grey → R = G = B; alpha (grey+alpha, RGBA, palette tRNS) is dropped, not composited — as PIL does;
//   - 16-bit samples keep their high byte (v >> 8). PIL does the same for 16-bit RGB(A), but opens
//     16-bit grey as mode "I" and its convert("RGB") clamps the value to 255 instead (so a 16-bit grey
//     PNG is mostly white in PIL); we keep the high byte, the meaningful 8-bit version of the image;
//   - PNG and BMP are lossless: identical to PIL. JPEG goes through stb's own IDCT and chroma
//     upsampling, not libjpeg-turbo's: within a few levels of PIL (the test states the bound);
//   - EXIF orientation is not applied (neither PIL's Image.open nor torchvision's loader applies it).
// Formats are recognised by their magic bytes; anything else (GIF, TGA, text, ...) is "unsupported",
// even where stb could guess at it, so a stray file is never decoded as garbage.
//
// Errors: every failure throws mm::Error (ErrorKind::Value; Runtime for I/O) whose message names the
// file and the reason: cannot open/read, empty, unsupported format, a header stb cannot parse, more
// pixels than the limit (checked from the header, before any pixel memory is allocated), a corrupt
// or truncated body (stb's failure reason, or jpeg_check.h's for the damaged JPEGs stb 2.27 would
// mishandle). Thread-safe: stb's failure reason is thread-local.
//
// Process-wide side effect: the first decode sets glibc's M_MMAP_THRESHOLD to 32 MiB and
// M_TRIM_THRESHOLD to 64 MiB (unless MALLOC_*_ or GLIBC_TUNABLES is set), so the per-image buffers
// are reused instead of being unmapped and faulted back in for every image (decode.cpp says why).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "data/image/image.h"

namespace mm::data {

struct DecodeOptions {
  int64_t max_pixels = 50'000'000;  // width·height above this is an error (decompression bombs)
};

enum class ImageFormat { Unknown, Jpeg, Png, Bmp };
const char* image_format_name(ImageFormat f);
// The format named by the first bytes (JPEG FF D8 FF, PNG's 8-byte signature, BMP "BM").
ImageFormat sniff_image_format(const uint8_t* data, size_t size);

// Decodes `size` bytes; `name` (a path, or "<memory>") is what error messages call the data.
Image decode_image(const uint8_t* data, size_t size, const std::string& name = "<memory>",
                   const DecodeOptions& options = {});
// Reads and decodes the file at `path`.
Image decode_image_file(const std::string& path, const DecodeOptions& options = {});

}  // namespace mm::data
