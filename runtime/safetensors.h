// The safetensors file format (https://github.com/huggingface/safetensors, "Format"): reading through a
// read-only memory map, validated in full when the file is opened, and atomic writing.
//
//   8 bytes   N, the header length, an unsigned little-endian 64-bit integer (at most 100 MB here,
//             the cap the reference implementation uses)
//   N bytes   UTF-8 JSON object beginning with '{' (trailing whitespace allowed):
//               {"__metadata__": {"k": "v", ...},                 optional, string -> string
//                "name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...}
//   the rest  the byte buffer; offsets are relative to its start, data is little-endian, row-major
//
// open() rejects, with an mm::Error naming the file, the tensor and the byte offset where there is one:
// a short file; a header length past the file or over the cap; a header that is not UTF-8, not JSON,
// not an object, nested deeper than 8 levels or with duplicate keys at any level; an entry that is not
// an object, lacks or adds fields; a shape that is not an array of non-negative integers or whose
// strides overflow int64; offsets that are not two non-negative integers with begin <= end, or whose
// length differs from numel x item size; data past the buffer, overlapping tensors, and unindexed
// bytes (holes or a tail: the format requires the buffer to be covered exactly); a "__metadata__"
// that is not an object of strings. Dtypes F32 F64 F16 BF16 I64 I32 U8 BOOL load; every other dtype
// the format defines is an "unsupported dtype" error (ErrorKind::DType) naming the tensor.
//
// Stricter than the reference reader (safetensors 0.8.0), on purpose: it accepts duplicate keys (the
// last wins), extra entry fields, a null "__metadata__", leading whitespace and BOOL bytes other than
// 0/1; all are errors here (a BOOL byte other than 0/1 when the tensor is loaded, since a C++ bool
// holding 2 is undefined behaviour). Also, a shape whose row-major strides overflow int64 is
// rejected even when a 0 makes it empty ([0, 2^62, 4]): mmalign cannot represent its strides.
//
// The writer produces what the reference writer produces for the same tensors, byte for byte (the
// interop test checks it): tensors ordered by dtype alignment, largest first, then by name; compact
// JSON with "__metadata__" first; the header padded with spaces to a multiple of 8 bytes — so every
// tensor is aligned to its element size in the file.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "runtime/tensor.h"

namespace mm::safetensors {

// The largest header open() and save() accept (the reference implementation's limit).
inline constexpr uint64_t kMaxHeaderBytes = 100'000'000;

struct TensorInfo {
  std::string name;
  DType dtype = DType::F32;
  Shape shape;
  uint64_t begin = 0, end = 0;  // byte range relative to the start of the byte buffer
};

// The format's dtype string for a DType ("F32", "BOOL", ...).
const char* dtype_string(DType t);

class File {  // a read-only memory map of one file, validated when opened; cheap to copy
 public:
  // Maps and validates `path`. Throws mm::Error (Value: malformed file; DType: a dtype mmalign lacks;
  // Runtime: the file cannot be opened or mapped).
  static File open(const std::string& path);
  struct Mapping;  // the memory map, opaque (runtime/safetensors.cpp); shared by copies of a File

  const std::string& path() const { return path_; }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }  // in offset order
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  bool contains(const std::string& name) const { return index_.count(name) != 0; }
  // The entry of `name`; throws mm::Error(Value) naming the file when there is none.
  const TensorInfo& info(const std::string& name) const;
  // A new contiguous CPU tensor holding a copy of the tensor's bytes (the map may go away after).
  Tensor load(const std::string& name) const;
  // Where the byte buffer starts in the file (8 + N): data_offsets are relative to it.
  uint64_t data_start() const { return data_start_; }

 private:
  std::shared_ptr<const Mapping> map_;
  std::string path_;
  uint64_t data_start_ = 0;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, size_t> index_;  // name -> position in tensors_
  std::map<std::string, std::string> metadata_;
};

// Every tensor of the file, by name.
std::map<std::string, Tensor> load_all(const std::string& path);

// Writes atomically: a temporary file in the same directory, fsync, rename over `path`, fsync of the
// directory — a crash never leaves a half-written file under `path`, and a failed save leaves any
// previous file untouched. Tensors may be non-contiguous or on CUDA (copied to contiguous CPU bytes
// first). Names must be unique, non-empty, valid UTF-8 and not "__metadata__"; metadata must be valid
// UTF-8. A replaced file keeps its permission bits; a new one gets 0666 minus the umask.
void save(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
          const std::map<std::string, std::string>& metadata = {});

}  // namespace mm::safetensors
