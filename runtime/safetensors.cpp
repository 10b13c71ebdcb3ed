#include "runtime/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <string_view>
#include <tuple>

// The format stores little-endian data and the loader copies bytes as they are.
static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes a little-endian host");

namespace mm::safetensors {

// A read-only map of a whole file; unmapped when the last File copy goes away. A file truncated by
// someone else while mapped makes reads fault (SIGBUS): mapping trades that for not copying.
struct File::Mapping {
  const unsigned char* data = nullptr;
  uint64_t size = 0;
  Mapping() = default;
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping() {
    if (data) munmap(const_cast<unsigned char*>(data), size);
  }
};

namespace {

using nlohmann::json;

constexpr const char* kOpen = "safetensors.open";
constexpr const char* kLoad = "safetensors.load";
constexpr const char* kSave = "safetensors.save";
constexpr uint64_t kLengthBytes = 8;  // the header-length field
// A valid header nests three levels (root, entry, shape); anything much deeper is garbage, and
// refusing it early bounds the parser's work on hostile input.
constexpr int kMaxJsonDepth = 8;

// ---- errors --------------------------------------------------------------------------------------

// A defect of the file: every message starts with the path.
template <typename... Args>
[[noreturn]] void bad_file(const std::string& path, Args&&... args) {
  fail(ErrorKind::Value, kOpen, path, ": ", std::forward<Args>(args)...);
}

// A failed system call.
template <typename... Args>
[[noreturn]] void io_fail(const char* op, const std::string& path, Args&&... args) {
  const int err = errno;
  fail(ErrorKind::Runtime, op, path, ": ", std::forward<Args>(args)..., ": ", std::strerror(err));
}

// Built with append, not `"'" + name`: g++ 12 reports a false -Wrestrict on operator+(const char*, string&&).
std::string quote_name(std::string_view name) {
  std::string r(1, '\'');
  r.append(name);
  r += '\'';
  return r;
}

std::string offsets_str(uint64_t begin, uint64_t end) {
  std::string r(1, '[');
  r.append(std::to_string(begin)).append(", ").append(std::to_string(end)) += ']';
  return r;
}

// ---- dtypes --------------------------------------------------------------------------------------

struct DTypeEntry {
  const char* name;
  DType dtype;
  int alignment_rank;  // the reference writer's order: larger ranks are written first
};
constexpr DTypeEntry kDTypes[] = {
    {"BOOL", DType::Bool, 0}, {"U8", DType::U8, 1},   {"F16", DType::F16, 2}, {"BF16", DType::BF16, 3},
    {"I32", DType::I32, 4},   {"F32", DType::F32, 5}, {"F64", DType::F64, 6}, {"I64", DType::I64, 7},
};
// The format's other dtypes: recognised, so the error can say "unsupported" rather than "unknown".
constexpr const char* kUnsupportedDTypes[] = {"I8", "I16",     "U16",     "U32",     "U64",     "C64",
                                              "F4", "F6_E2M3", "F6_E3M2", "F8_E5M2", "F8_E4M3", "F8_E8M0"};

const DTypeEntry& dtype_entry(DType t) {
  for (const DTypeEntry& e : kDTypes)
    if (e.dtype == t) return e;
  fail(ErrorKind::DType, kSave, "bad dtype tag");
}

DType parse_dtype_string(const std::string& path, const std::string& tensor, const std::string& s) {
  for (const DTypeEntry& e : kDTypes)
    if (s == e.name) return e.dtype;
  for (const char* u : kUnsupportedDTypes)
    if (s == u)
      fail(ErrorKind::DType, kOpen, path, ": tensor ", quote_name(tensor), ": unsupported dtype ", s,
           " (mmalign loads F32, F64, F16, BF16, I64, I32, U8 and BOOL)");
  bad_file(path, "tensor ", quote_name(tensor), ": unknown dtype '", s, "'");
}

// ---- UTF-8 ---------------------------------------------------------------------------------------

// The offset of the first byte that does not begin a well-formed UTF-8 sequence (RFC 3629: no
// overlong forms, no surrogates, nothing above U+10FFFF), or npos when `s` is valid throughout.
size_t invalid_utf8_at(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    uint32_t cp = 0, min = 0;
    if ((c & 0xE0) == 0xC0) {
      len = 2, cp = c & 0x1Fu, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, cp = c & 0x0Fu, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, cp = c & 0x07u, min = 0x10000;
    } else {
      return i;
    }
    if (s.size() - i < len) return i;
    for (size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (cc & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += len;
  }
  return std::string_view::npos;
}

// ---- mapping the file ----------------------------------------------------------------------------

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

std::shared_ptr<const File::Mapping> map_file(const std::string& path) {
  Fd f;
  f.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (f.fd < 0) io_fail(kOpen, path, "cannot open");
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) io_fail(kOpen, path, "cannot stat");
  if (!S_ISREG(st.st_mode)) bad_file(path, "not a regular file");
  const auto size = static_cast<uint64_t>(st.st_size);
  if (size < kLengthBytes)
    bad_file(path, "file is ", size, " bytes, shorter than the 8-byte header length that starts the format");
  auto m = std::make_shared<File::Mapping>();
  void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, f.fd, 0);
  if (p == MAP_FAILED) io_fail(kOpen, path, "cannot map ", size, " bytes");
  m->data = static_cast<const unsigned char*>(p);
  m->size = size;
  return m;
}

// ---- the header ----------------------------------------------------------------------------------

uint64_t read_u64_le(const unsigned char* p) {
  uint64_t v = 0;
  std::memcpy(&v, p, sizeof v);  // the host is little-endian (static_assert above)
  return v;
}

// The header length N from the first 8 bytes, checked against the cap and the file.
uint64_t header_length(const std::string& path, const File::Mapping& m) {
  const uint64_t n = read_u64_le(m.data);
  if (n > kMaxHeaderBytes)
    bad_file(path, "header length ", n, " (file bytes 0..8) exceeds the cap of ", kMaxHeaderBytes, " bytes");
  if (n > m.size - kLengthBytes)
    bad_file(path, "header length ", n,
             " (file bytes 0..8) runs past the end of the file: the header would end at byte ", kLengthBytes + n,
             " of a ", m.size, "-byte file");
  return n;
}

// Parses the header text as JSON, rejecting duplicate keys at any level (nlohmann keeps the last
// silently; the format forbids them) and nesting deeper than any header needs.
json parse_json(const std::string& path, std::string_view text) {
  std::vector<std::set<std::string>> keys;  // the keys seen so far in each open object
  int depth = 0;
  auto on_event = [&](int, json::parse_event_t ev, json& parsed) {
    switch (ev) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        if (++depth > kMaxJsonDepth)
          bad_file(path, "header nests JSON deeper than ", kMaxJsonDepth, " levels (a safetensors header nests 3)");
        if (ev == json::parse_event_t::object_start) keys.emplace_back();
        break;
      case json::parse_event_t::object_end:
        keys.pop_back();
        [[fallthrough]];
      case json::parse_event_t::array_end:
        --depth;
        break;
      case json::parse_event_t::key:
        if (!keys.back().insert(parsed.get<std::string>()).second)
          bad_file(path, "duplicate key '", parsed.get<std::string>(),
                   "' in the header (the format forbids duplicate keys)");
        break;
      case json::parse_event_t::value:
        break;
    }
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), on_event);
  } catch (const json::parse_error& e) {
    // e.byte counts from 1 within the header text.
    const uint64_t at = kLengthBytes + (e.byte > 0 ? e.byte - 1 : 0);
    bad_file(path, "header is not valid JSON (near file byte ", at, "): ", e.what());
  } catch (const json::exception& e) {
    bad_file(path, "header is not valid JSON: ", e.what());
  }
}

json parse_header(const std::string& path, std::string_view text) {
  if (size_t bad = invalid_utf8_at(text); bad != std::string_view::npos)
    bad_file(path, "header is not valid UTF-8: byte 0x", std::hex,
             static_cast<int>(static_cast<unsigned char>(text[bad])), std::dec, " at file byte ", kLengthBytes + bad,
             " does not begin a well-formed sequence");
  // The format requires the header to begin with '{'; JSON alone would also allow whitespace.
  if (text.empty() || text.front() != '{')
    bad_file(path, "header is not a JSON object: it must begin with '{' at file byte 8, found ",
             text.empty() ? std::string("an empty header") : quote_name(text.substr(0, 1)));
  json root = parse_json(path, text);
  if (!root.is_object()) bad_file(path, "header is a JSON ", root.type_name(), ", not an object");
  return root;
}

std::map<std::string, std::string> parse_metadata(const std::string& path, const json& j) {
  if (!j.is_object()) bad_file(path, "__metadata__ is a JSON ", j.type_name(), ", not an object of strings");
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : j.items()) {
    if (!value.is_string())
      bad_file(path, "__metadata__ value of key '", key, "' is a JSON ", value.type_name(), ", not a string");
    out.emplace(key, value.get<std::string>());
  }
  return out;
}

// A JSON value as a non-negative integer (nlohmann parses those as unsigned; negative ones as
// signed, fractions and integers past 2^64 as floating point).
bool as_u64(const json& j, uint64_t& out) {
  if (!j.is_number_unsigned()) return false;
  out = j.get<uint64_t>();
  return true;
}

Shape parse_shape(const std::string& path, const std::string& name, const json& j) {
  if (!j.is_array()) bad_file(path, "tensor ", quote_name(name), ": shape is a JSON ", j.type_name(), ", not an array");
  Shape shape;
  // Strides are products of dimensions (a 0 counts as 1): they must fit int64 like the dims.
  uint64_t span = 1;
  for (size_t i = 0; i < j.size(); ++i) {
    uint64_t d = 0;
    if (!as_u64(j[i], d) || d > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      bad_file(path, "tensor ", quote_name(name), ": shape entry ", i, " is ", j[i].dump(),
               ", not a non-negative integer below 2^63");
    const uint64_t factor = std::max<uint64_t>(d, 1);
    if (span > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / factor)
      bad_file(path, "tensor ", quote_name(name), ": shape ", j.dump(), " overflows 64-bit element counts");
    span *= factor;
    shape.push_back(static_cast<int64_t>(d));
  }
  return shape;
}

TensorInfo parse_entry(const std::string& path, const std::string& name, const json& j, uint64_t buffer_bytes,
                       uint64_t data_start) {
  if (!j.is_object())
    bad_file(path, "tensor ", quote_name(name), ": entry is a JSON ", j.type_name(), ", not an object");
  for (const char* field : {"dtype", "shape", "data_offsets"})
    if (!j.contains(field)) bad_file(path, "tensor ", quote_name(name), ": entry lacks the field '", field, "'");
  for (const auto& [key, value] : j.items())
    if (key != "dtype" && key != "shape" && key != "data_offsets")
      bad_file(path, "tensor ", quote_name(name), ": entry has the unexpected field '", key,
               "' (entries hold exactly dtype, shape and data_offsets)");

  TensorInfo t;
  t.name = name;
  const json& dt = j.at("dtype");
  if (!dt.is_string())
    bad_file(path, "tensor ", quote_name(name), ": dtype is a JSON ", dt.type_name(), ", not a string");
  t.dtype = parse_dtype_string(path, name, dt.get<std::string>());
  t.shape = parse_shape(path, name, j.at("shape"));

  const json& off = j.at("data_offsets");
  if (!off.is_array() || off.size() != 2 || !as_u64(off[0], t.begin) || !as_u64(off[1], t.end))
    bad_file(path, "tensor ", quote_name(name), ": data_offsets is ", off.dump(), ", not two non-negative integers");
  if (t.begin > t.end)
    bad_file(path, "tensor ", quote_name(name), ": data_offsets ", offsets_str(t.begin, t.end),
             " begin after they end");

  // numel <= the stride span, which parse_shape bounded by 2^63.
  const auto numel = static_cast<uint64_t>(shape_numel(t.shape));
  const uint64_t item = dtype_size(t.dtype);
  if (numel > std::numeric_limits<uint64_t>::max() / item)
    bad_file(path, "tensor ", quote_name(name), ": ", numel, " elements of ", dt.get<std::string>(),
             " overflow a 64-bit byte count");
  if (numel * item != t.end - t.begin)
    bad_file(path, "tensor ", quote_name(name), ": data_offsets ", offsets_str(t.begin, t.end), " hold ",
             t.end - t.begin, " bytes but dtype ", dt.get<std::string>(), " and shape ", shape_str(t.shape), " need ",
             numel * item);
  if (t.end > buffer_bytes)
    bad_file(path, "tensor ", quote_name(name), ": data_offsets ", offsets_str(t.begin, t.end),
             " end past the byte buffer (", buffer_bytes, " bytes, file bytes ", data_start, "..",
             data_start + buffer_bytes, "): the tensor would end at file byte ", data_start + t.end);
  return t;
}

// Sorts the tensors by offset and requires them to tile the buffer exactly: no overlap, no hole,
// nothing after the last one (the format requires the buffer to be fully indexed).
void check_layout(const std::string& path, std::vector<TensorInfo>& tensors, uint64_t buffer_bytes,
                  uint64_t data_start) {
  std::sort(tensors.begin(), tensors.end(), [](const TensorInfo& a, const TensorInfo& b) {
    return std::tie(a.begin, a.end, a.name) < std::tie(b.begin, b.end, b.name);
  });
  uint64_t covered = 0;  // the buffer [0, covered) is indexed
  const TensorInfo* last = nullptr;
  for (const TensorInfo& t : tensors) {
    if (t.begin < covered)
      bad_file(path, "tensor ", quote_name(t.name), " (data_offsets ", offsets_str(t.begin, t.end), ") starts inside ",
               quote_name(last->name), " (data_offsets ", offsets_str(last->begin, last->end), ") at file byte ",
               data_start + t.begin, ": tensors overlap");
    if (t.begin > covered)
      bad_file(path, "buffer bytes ", offsets_str(covered, t.begin), " (file bytes ", data_start + covered, "..",
               data_start + t.begin, ") before tensor ", quote_name(t.name),
               " belong to no tensor (the format requires the buffer to be fully indexed)");
    covered = t.end;
    last = &t;
  }
  if (covered != buffer_bytes)
    bad_file(path, "buffer bytes ", offsets_str(covered, buffer_bytes), " (file bytes ", data_start + covered, "..",
             data_start + buffer_bytes, ") after the last tensor belong to no tensor",
             " (the format requires the buffer to be fully indexed)");
}

}  // namespace

const char* dtype_string(DType t) { return dtype_entry(t).name; }

// ---- reading -------------------------------------------------------------------------------------

File File::open(const std::string& path) {
  File f;
  f.path_ = path;
  f.map_ = map_file(path);
  const Mapping& m = *f.map_;
  const uint64_t n = header_length(path, m);
  const json root = parse_header(path, std::string_view(reinterpret_cast<const char*>(m.data) + kLengthBytes, n));
  f.data_start_ = kLengthBytes + n;
  const uint64_t buffer_bytes = m.size - f.data_start_;
  for (const auto& [key, value] : root.items()) {
    if (key == "__metadata__")
      f.metadata_ = parse_metadata(path, value);
    else
      f.tensors_.push_back(parse_entry(path, key, value, buffer_bytes, f.data_start_));
  }
  check_layout(path, f.tensors_, buffer_bytes, f.data_start_);
  for (size_t i = 0; i < f.tensors_.size(); ++i) f.index_.emplace(f.tensors_[i].name, i);
  return f;
}

const TensorInfo& File::info(const std::string& name) const {
  auto it = index_.find(name);
  MM_CHECK(it != index_.end(), Value, kLoad, path_, ": no tensor named ", quote_name(name), " (the file holds ",
           tensors_.size(), ")");
  return tensors_[it->second];
}

Tensor File::load(const std::string& name) const {
  const TensorInfo& t = info(name);
  const unsigned char* src = map_->data + data_start_ + t.begin;
  const uint64_t nbytes = t.end - t.begin;
  // A C++ bool must hold 0 or 1; any other byte would make later reads undefined behaviour.
  if (t.dtype == DType::Bool) {
    for (uint64_t i = 0; i < nbytes; ++i)
      MM_CHECK(src[i] <= 1, Value, kLoad, path_, ": tensor ", quote_name(name), ": BOOL byte ",
               static_cast<int>(src[i]), " at file byte ", data_start_ + t.begin + i, " is neither 0 nor 1");
  }
  Tensor out = Tensor::empty(t.shape, t.dtype, kCPU);
  if (nbytes > 0) std::memcpy(out.raw_data(), src, nbytes);
  return out;
}

std::map<std::string, Tensor> load_all(const std::string& path) {
  const File f = File::open(path);
  std::map<std::string, Tensor> out;
  for (const TensorInfo& t : f.tensors()) out.emplace(t.name, f.load(t.name));
  return out;
}

// ---- writing -------------------------------------------------------------------------------------

namespace {

struct Planned {
  const std::string* name;
  const Tensor* tensor;
  uint64_t begin, end;
};

void check_save_inputs(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::set<std::string_view> seen;
  for (const auto& [name, t] : tensors) {
    MM_CHECK(!name.empty(), Value, kSave, path, ": a tensor name is empty");
    MM_CHECK(name != "__metadata__", Value, kSave, path, ": the name '__metadata__' is reserved by the format");
    MM_CHECK(invalid_utf8_at(name) == std::string_view::npos, Value, kSave, path, ": tensor name ", quote_name(name),
             " is not valid UTF-8 (byte ", invalid_utf8_at(name), ")");
    MM_CHECK(seen.insert(name).second, Value, kSave, path, ": duplicate tensor name ", quote_name(name));
    MM_CHECK(t.defined(), Value, kSave, path, ": tensor ", quote_name(name), " is undefined");
  }
  for (const auto& [key, value] : metadata) {
    MM_CHECK(invalid_utf8_at(key) == std::string_view::npos, Value, kSave, path, ": metadata key ", quote_name(key),
             " is not valid UTF-8");
    MM_CHECK(invalid_utf8_at(value) == std::string_view::npos, Value, kSave, path, ": metadata value of key ",
             quote_name(key), " is not valid UTF-8");
  }
}

// The reference writer's layout: by dtype alignment, largest first, then by name. With the header
// padded to 8 bytes this aligns every tensor to its element size in the file.
std::vector<Planned> plan_layout(const std::vector<std::pair<std::string, Tensor>>& tensors) {
  std::vector<Planned> plan;
  for (const auto& [name, t] : tensors) plan.push_back({&name, &t, 0, 0});
  std::sort(plan.begin(), plan.end(), [](const Planned& a, const Planned& b) {
    const int ra = dtype_entry(a.tensor->dtype()).alignment_rank, rb = dtype_entry(b.tensor->dtype()).alignment_rank;
    return ra != rb ? ra > rb : *a.name < *b.name;
  });
  uint64_t offset = 0;
  for (Planned& p : plan) {
    p.begin = offset;
    offset += static_cast<uint64_t>(p.tensor->numel()) * p.tensor->element_size();
    p.end = offset;
  }
  return plan;
}

// Compact JSON, "__metadata__" first, entries in buffer order, padded with spaces to a multiple of 8.
std::string header_text(const std::string& path, const std::vector<Planned>& plan,
                        const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json h = nlohmann::ordered_json::object();
  if (!metadata.empty()) {
    nlohmann::ordered_json m = nlohmann::ordered_json::object();
    for (const auto& [key, value] : metadata) m[key] = value;
    h["__metadata__"] = std::move(m);
  }
  for (const Planned& p : plan) {
    nlohmann::ordered_json e = nlohmann::ordered_json::object();
    e["dtype"] = dtype_string(p.tensor->dtype());
    e["shape"] = p.tensor->shape();
    e["data_offsets"] = nlohmann::ordered_json::array({p.begin, p.end});
    h[*p.name] = std::move(e);
  }
  std::string text = h.dump();
  text.resize((text.size() + 7) / 8 * 8, ' ');
  MM_CHECK(text.size() <= kMaxHeaderBytes, Value, kSave, path, ": the header would be ", text.size(),
           " bytes, over the format's cap of ", kMaxHeaderBytes);
  return text;
}

// The row-major bytes of any tensor, on the host. Only the span of storage the view touches is
// copied from a device.
std::vector<unsigned char> contiguous_host_bytes(const Tensor& t) {
  const size_t item = t.element_size();
  const int64_t numel = t.numel();
  std::vector<unsigned char> out(static_cast<size_t>(numel) * item);
  if (numel == 0) return out;
  const Shape& shape = t.shape();
  const Strides& strides = t.strides();
  int64_t lo = t.offset(), hi = t.offset();  // elements, inclusive
  for (size_t d = 0; d < shape.size(); ++d) (strides[d] >= 0 ? hi : lo) += strides[d] * (shape[d] - 1);
  const auto* storage = static_cast<const unsigned char*>(t.storage()->data());
  std::vector<unsigned char> staged;
  const unsigned char* base = storage + lo * static_cast<int64_t>(item);  // element `lo`
  if (!t.device().is_cpu()) {
    staged.resize(static_cast<size_t>(hi - lo + 1) * item);
    copy_bytes(staged.data(), kCPU, base, t.device(), staged.size());
    base = staged.data();
  }
  // Copy runs along the last dimension when it is unit-stride, single elements otherwise.
  const size_t ndim = shape.size();
  const bool unit_last = ndim > 0 && strides[ndim - 1] == 1;
  const size_t outer_dims = unit_last ? ndim - 1 : ndim;
  const size_t run_bytes = (unit_last ? static_cast<size_t>(shape[ndim - 1]) : 1) * item;
  std::vector<int64_t> idx(outer_dims, 0);
  for (size_t written = 0; written < out.size(); written += run_bytes) {
    int64_t off = t.offset() - lo;
    for (size_t d = 0; d < outer_dims; ++d) off += idx[d] * strides[d];
    std::memcpy(out.data() + written, base + off * static_cast<int64_t>(item), run_bytes);
    for (size_t d = outer_dims; d-- > 0;) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

// The permission bits a new file gets from open(0666): 0666 minus the umask, read from
// /proc/self/status because umask(2) can only be read by changing it (racy with other threads).
mode_t default_file_mode() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Umask:", 0) == 0) return static_cast<mode_t>(0666 & ~std::stoul(line.substr(6), nullptr, 8));
  }
  return 0644;
}

// A file written under a temporary name in the target's directory and renamed over the target by
// commit(); destroyed uncommitted, it removes the temporary and leaves the target as it was.
class AtomicWriter {
 public:
  explicit AtomicWriter(const std::string& path) : path_(path) {
    const std::filesystem::path p(path);
    MM_CHECK(p.has_filename(), Value, kSave, path, ": the path names a directory, not a file");
    dir_ = p.has_parent_path() ? p.parent_path().string() : ".";
    std::string tmp_name(1, '.');
    tmp_name.append(p.filename().string()).append(".tmp-XXXXXX");
    tmp_ = (std::filesystem::path(dir_) / tmp_name).string();
    // mkstemp makes 0600 files: the result gets the permissions a plain write would have.
    struct stat st {};
    mode_ = ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) ? st.st_mode & 07777 : default_file_mode();
    fd_ = ::mkstemp(tmp_.data());
    if (fd_ < 0) io_fail(kSave, path, "cannot create a temporary file in ", dir_);
  }
  AtomicWriter(const AtomicWriter&) = delete;
  AtomicWriter& operator=(const AtomicWriter&) = delete;
  ~AtomicWriter() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(tmp_.c_str());
  }

  void write(const void* data, size_t n) {
    const auto* p = static_cast<const char*>(data);
    while (n > 0) {
      const ssize_t w = ::write(fd_, p, n);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) io_fail(kSave, path_, "cannot write ", tmp_);
      p += w;
      n -= static_cast<size_t>(w);
    }
  }

  // Data on disk first, then the name: a crash leaves either the old file or the whole new one.
  void commit() {
    if (::fchmod(fd_, mode_) != 0) io_fail(kSave, path_, "cannot set the mode of ", tmp_);
    if (::fsync(fd_) != 0) io_fail(kSave, path_, "cannot fsync ", tmp_);
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) io_fail(kSave, path_, "cannot close ", tmp_);
    if (::rename(tmp_.c_str(), path_.c_str()) != 0) io_fail(kSave, path_, "cannot rename ", tmp_, " over it");
    committed_ = true;
    // The rename itself is durable only once the directory is synced.
    Fd dir;
    dir.fd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir.fd < 0) io_fail(kSave, path_, "cannot open the directory ", dir_, " to fsync it");
    if (::fsync(dir.fd) != 0) io_fail(kSave, path_, "cannot fsync the directory ", dir_);
  }

 private:
  std::string path_, dir_, tmp_;
  mode_t mode_ = 0644;
  int fd_ = -1;
  bool committed_ = false;
};

}  // namespace

void save(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
          const std::map<std::string, std::string>& metadata) {
  // Everything that can be checked is checked before the temporary file exists.
  check_save_inputs(path, tensors, metadata);
  const std::vector<Planned> plan = plan_layout(tensors);
  const std::string header = header_text(path, plan, metadata);

  AtomicWriter out(path);
  unsigned char length[kLengthBytes];
  const uint64_t n = header.size();
  std::memcpy(length, &n, sizeof n);  // little-endian host
  out.write(length, sizeof length);
  out.write(header.data(), header.size());
  for (const Planned& p : plan) {
    const Tensor& t = *p.tensor;
    if (t.device().is_cpu() && t.is_contiguous()) {
      out.write(t.raw_data(), p.end - p.begin);
    } else {
      const std::vector<unsigned char> bytes = contiguous_host_bytes(t);
      out.write(bytes.data(), bytes.size());
    }
  }
  out.commit();
}

}  // namespace mm::safetensors
