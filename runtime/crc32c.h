// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of checkpoints' state.pb and of
// TensorBoard's TFRecord framing. Software table-driven; fast enough for checkpoint-sized files.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace mm {

// Extends `crc` (0 for a fresh checksum) over `size` bytes; crc32c(b, crc32c(a)) == crc32c(a ++ b).
uint32_t crc32c(const void* data, size_t size, uint32_t crc = 0);

// TFRecord's "masked" CRC: ((crc >> 15) | (crc << 17)) + 0xa282ead8, so a CRC of data holding CRCs
// does not degenerate.
uint32_t masked_crc32c(const void* data, size_t size);

// The CRC-32C of a whole file, read in blocks; throws mm::Error (Runtime) naming the file on failure.
uint32_t crc32c_file(const std::string& path);

}  // namespace mm
