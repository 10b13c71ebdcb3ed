// A structural check of JPEG files run before stb_image sees them. stb_image 2.27 (the version
// Debian ships) mishandles some damaged JPEGs (the first two bugs are fixed upstream in 2.28):
//   - a scan may use a Huffman table no DHT segment defined: stb reads its uninitialised tables
//     (nothings/stb PR #1297; found here by the decoder fuzz test as a segfault);
//   - a DHT segment whose 16 code counts sum to more than 256 overflows the table arrays
//     (nothings/stb issue #1289, a heap write);
//   - stb mallocs its sample planes and coefficient arrays without zeroing them, so a component
//     no scan covers, a progressive coefficient no first-pass scan covers, or a refinement scan
//     before the first pass turns heap garbage into pixels (found by the fuzz test under valgrind).
// libjpeg rejects the first two ("Huffman table was not defined", "Bogus Huffman table
// definition") and zero-fills the rest; here all are errors, which loses no image an encoder
// writes. The walk follows the marker structure (segments, entropy-coded data up to the next
// marker) as stb reads it, and also checks that scans use defined quantisation tables.
// It stops quietly where the file ends: truncation is stb's to report, and it does so safely.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace mm::data::detail {

// "" when nothing is wrong, else the reason.
std::string check_jpeg_structure(const uint8_t* data, size_t size);

}  // namespace mm::data::detail
