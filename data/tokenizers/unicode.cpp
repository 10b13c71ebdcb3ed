// Lookups into the generated tables (unicode_tables.inc) and strict UTF-8 coding.
#include "data/tokenizers/unicode.h"

#include <algorithm>
#include <array>
#include <cstdio>

#include "runtime/error.h"

namespace mm::data::unicode {

namespace {

struct FlagRun {
  uint32_t first;
  uint8_t value;
};
struct DeltaRun {
  uint32_t first, last;
  int32_t delta;
  uint8_t stride;
};
struct MultiEntry {
  uint32_t cp;
  uint16_t offset;
  uint8_t len;
};

#include "data/tokenizers/unicode_tables.inc"

template <size_t N>
uint8_t run_value(const FlagRun (&runs)[N], char32_t c) {
  // The last run starting at or before c (runs[0].first is 0).
  auto it = std::upper_bound(runs, runs + N, static_cast<uint32_t>(c),
                             [](uint32_t v, const FlagRun& r) { return v < r.first; });
  return (it - 1)->value;
}

// ASCII is most of any caption: answer it from a 128-entry copy of the tables.
template <size_t N>
std::array<uint8_t, 128> ascii_copy(const FlagRun (&runs)[N]) {
  std::array<uint8_t, 128> a{};
  for (char32_t c = 0; c < 128; ++c) a[c] = run_value(runs, c);
  return a;
}
const std::array<uint8_t, 128> kBertAscii = ascii_copy(kBertFlagRuns);
const std::array<uint8_t, 128> kBpeAscii = ascii_copy(kBpeFlagRuns);

// Appends the mapping of c from a delta/multi table pair; returns false when c maps to itself.
template <size_t ND, size_t NM, size_t NP>
bool append_mapped(const DeltaRun (&delta)[ND], const MultiEntry (&multi)[NM], const char32_t (&pool)[NP],
                   char32_t c, std::u32string& out) {
  auto d = std::upper_bound(delta, delta + ND, static_cast<uint32_t>(c),
                            [](uint32_t v, const DeltaRun& r) { return v < r.first; });
  if (d != delta) {
    --d;
    if (c <= d->last && (c - d->first) % d->stride == 0) {
      out.push_back(static_cast<char32_t>(static_cast<int64_t>(c) + d->delta));
      return true;
    }
  }
  auto m = std::lower_bound(multi, multi + NM, static_cast<uint32_t>(c),
                            [](const MultiEntry& e, uint32_t v) { return e.cp < v; });
  if (m != multi + NM && m->cp == c) {
    out.append(pool + m->offset, m->len);
    return true;
  }
  return false;
}

constexpr char32_t kHangulFirst = 0xAC00, kHangulLast = 0xD7A3;

}  // namespace

uint8_t bert_flags(char32_t c) { return c < 128 ? kBertAscii[c] : run_value(kBertFlagRuns, c); }
uint8_t bpe_class(char32_t c) { return c < 128 ? kBpeAscii[c] : run_value(kBpeFlagRuns, c); }
uint8_t combining_class(char32_t c) { return c < 0x300 ? 0 : run_value(kCccRuns, c); }

bool is_cjk(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
         (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

void append_bert_normalized(char32_t c, std::u32string& out) {
  if (c < 128) {
    out.push_back(c >= 'A' && c <= 'Z' ? c + 32 : c);
    return;
  }
  if (c >= kHangulFirst && c <= kHangulLast) {
    // Unicode §3.12: a syllable is L V (T); lowercasing leaves Hangul alone.
    const char32_t s = c - kHangulFirst;
    out.push_back(0x1100 + s / 588);
    out.push_back(0x1161 + (s % 588) / 28);
    if (s % 28 != 0) out.push_back(0x11A7 + s % 28);
    return;
  }
  if (!append_mapped(kBertMapDelta, kBertMapMulti, kBertMapPool, c, out)) out.push_back(c);
}

void append_lower(char32_t c, std::u32string& out) {
  if (c < 128) {
    out.push_back(c >= 'A' && c <= 'Z' ? c + 32 : c);
    return;
  }
  if (!append_mapped(kLowerDelta, kLowerMulti, kLowerPool, c, out)) out.push_back(c);
}

void canonical_order(std::u32string& s) {
  size_t i = 0;
  while (i < s.size()) {
    if (combining_class(s[i]) == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < s.size() && combining_class(s[j]) != 0) ++j;
    if (j - i > 1)
      std::stable_sort(s.begin() + static_cast<std::ptrdiff_t>(i), s.begin() + static_cast<std::ptrdiff_t>(j),
                       [](char32_t a, char32_t b) { return combining_class(a) < combining_class(b); });
    i = j;
  }
}

int64_t find_invalid_utf8(std::string_view s, std::string* why) {
  auto fail_at = [&](size_t at, const std::string& reason) {
    if (why) *why = reason;
    return static_cast<int64_t>(at);
  };
  auto hex = [](unsigned char b) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "0x%02X", b);
    return std::string(buf);
  };
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char b = p[i];
    if (b < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte (excludes overlong/surrogates)
    if (b >= 0xC2 && b <= 0xDF) {
      len = 2;
    } else if (b >= 0xE0 && b <= 0xEF) {
      len = 3;
      if (b == 0xE0) lo = 0xA0;
      if (b == 0xED) hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
      len = 4;
      if (b == 0xF0) lo = 0x90;
      if (b == 0xF4) hi = 0x8F;
    } else {
      return fail_at(i, "byte " + hex(b) + (b >= 0x80 && b <= 0xBF ? " is a continuation byte without a lead byte"
                                                                   : " cannot start a UTF-8 sequence"));
    }
    if (i + len > n) return fail_at(i, "sequence starting with " + hex(b) + " is truncated by the end of the text");
    if (p[i + 1] < lo || p[i + 1] > hi) {
      const bool cont = p[i + 1] >= 0x80 && p[i + 1] <= 0xBF;
      return fail_at(i, cont ? "overlong form, surrogate or code point above U+10FFFF (" + hex(b) + " " +
                                   hex(p[i + 1]) + ")"
                             : "byte " + hex(p[i + 1]) + " after lead byte " + hex(b) + " is not a continuation byte");
    }
    for (size_t k = 2; k < len; ++k)
      if (p[i + k] < 0x80 || p[i + k] > 0xBF)
        return fail_at(i, "byte " + hex(p[i + k]) + " after lead byte " + hex(b) + " is not a continuation byte");
    i += len;
  }
  return -1;
}

std::u32string decode_utf8(std::string_view s, const char* op) {
  std::string why;
  const int64_t bad = find_invalid_utf8(s, &why);
  MM_CHECK(bad < 0, Value, op, "invalid UTF-8 at byte offset ", bad, ": ", why);
  std::u32string out;
  out.reserve(s.size());
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  for (size_t i = 0; i < s.size();) {
    const unsigned char b = p[i];
    if (b < 0x80) {
      out.push_back(b);
      ++i;
    } else if (b < 0xE0) {
      out.push_back(static_cast<char32_t>((b & 0x1F) << 6 | (p[i + 1] & 0x3F)));
      i += 2;
    } else if (b < 0xF0) {
      out.push_back(static_cast<char32_t>((b & 0x0F) << 12 | (p[i + 1] & 0x3F) << 6 | (p[i + 2] & 0x3F)));
      i += 3;
    } else {
      out.push_back(static_cast<char32_t>((b & 0x07) << 18 | (p[i + 1] & 0x3F) << 12 | (p[i + 2] & 0x3F) << 6 |
                                          (p[i + 3] & 0x3F)));
      i += 4;
    }
  }
  return out;
}

void append_utf8(char32_t c, std::string& out) {
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (c >> 6)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (c >> 12)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (c >> 18)));
    out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

std::string encode_utf8(std::u32string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char32_t c : s) append_utf8(c, out);
  return out;
}

const char* python_unicode_version() { return kPythonUnicodeVersion; }
const char* regex_module_version() { return kRegexModuleVersion; }

}  // namespace mm::data::unicode
