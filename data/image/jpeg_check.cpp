#include "data/image/jpeg_check.h"

#include <array>
#include <cstring>

namespace mm::data::detail {

namespace {

struct Component {
  int id = -1, tq = 0;
  bool scanned = false;
  // Progressive: the successive-approximation bit each coefficient was last decoded to, −1 before
  // its first scan (libjpeg's coef_bits).
  std::array<int, 64> coef_bits;
};

}  // namespace

std::string check_jpeg_structure(const uint8_t* d, size_t n) {
  if (n < 2 || d[0] != 0xFF || d[1] != 0xD8) return "no SOI marker";
  std::array<bool, 4> dc{}, ac{}, quant{};
  std::array<Component, 4> comps{};
  int ncomp = 0;
  bool progressive = false;
  size_t pos = 2;
  for (;;) {
    // A marker: 0xFF (any number of fill 0xFFs), then the code. Where a marker should be and is
    // not, stb skips ahead to the next 0xFF before the frame header (and fails after it), so the
    // walk skips too: otherwise a damaged length could hide a segment from the check but not from stb.
    while (pos < n && d[pos] != 0xFF) ++pos;
    while (pos < n && d[pos] == 0xFF) ++pos;
    if (pos >= n) return "";
    const uint8_t m = d[pos++];
    if (m == 0xD9) {  // EOI: stb outputs every plane, so each must have been decoded
      // stb mallocs its planes and coefficient arrays without zeroing them: a component no scan
      // covered (or, progressive, a coefficient no first-pass scan covered) would come out as
      // whatever the heap held. libjpeg zero-fills instead; here that is an error.
      for (int c = 0; c < ncomp; ++c) {
        if (!comps[c].scanned) return "a component is in no scan";
        if (progressive)
          for (int b : comps[c].coef_bits)
            if (b < 0) return "progressive scans leave coefficients undecoded";
      }
      return "";
    }
    if (m == 0xD8 || m == 0x01 || (m >= 0xD0 && m <= 0xD7)) continue;  // no length field
    if (pos + 2 > n) return "";
    const size_t len = (size_t{d[pos]} << 8) | d[pos + 1];
    if (len < 2) return "marker segment shorter than its length field";
    const size_t begin = pos + 2, end = pos + len;
    if (end > n) return "";  // truncated: stb's to report
    const uint8_t* s = d + begin;
    const size_t sl = end - begin;
    if (m == 0xC4) {  // DHT: (class/id, 16 counts, symbols)+
      for (size_t p = 0; p < sl;) {
        if (p + 17 > sl) return "bad DHT segment length";
        const int tc = s[p] >> 4, th = s[p] & 15;
        if (tc > 1 || th > 3) return "bad DHT table class or id";
        size_t count = 0;
        for (int i = 1; i <= 16; ++i) count += s[p + i];
        if (count > 256) return "Huffman table with more than 256 codes";
        (tc == 0 ? dc : ac)[th] = true;
        p += 17 + count;
        if (p > sl) return "bad DHT segment length";
      }
    } else if (m == 0xDB) {  // DQT: (precision/id, 64 or 128 bytes)+
      for (size_t p = 0; p < sl;) {
        const int pq = s[p] >> 4, tq = s[p] & 15;
        if (tq > 3 || pq > 1) return "bad DQT table id or precision";
        quant[tq] = true;
        p += 1 + 64 * (pq + 1);
        if (p > sl) return "bad DQT segment length";
      }
    } else if (m == 0xC0 || m == 0xC1 || m == 0xC2) {  // SOF0/1/2: the frames stb decodes
      if (sl < 6) return "bad SOF segment length";
      ncomp = s[5];
      if (ncomp < 1 || ncomp > 4 || sl < 6 + 3 * size_t(ncomp)) return "bad SOF component count";
      for (int i = 0; i < ncomp; ++i) {
        comps[i] = Component{s[6 + 3 * i], s[8 + 3 * i], false, {}};
        comps[i].coef_bits.fill(-1);
      }
      progressive = m == 0xC2;
    } else if (m == 0xDA) {  // SOS: components and their tables, spectral selection, then data
      if (sl < 1) return "bad SOS segment length";
      const int ns = s[0];
      if (sl < 1 + 2 * size_t(ns) + 3) return "bad SOS segment length";
      const int ss = s[1 + 2 * ns], se = s[2 + 2 * ns], ah = s[3 + 2 * ns] >> 4, al = s[3 + 2 * ns] & 15;
      for (int i = 0; i < ns; ++i) {
        const int id = s[1 + 2 * i], td = s[2 + 2 * i] >> 4, ta = s[2 + 2 * i] & 15;
        int which = 0;
        while (which < ncomp && comps[which].id != id) ++which;
        if (which == ncomp) continue;  // stb rejects an unknown component itself
        if (comps[which].tq > 3 || !quant[comps[which].tq]) return "scan uses an undefined quantisation table";
        if (td > 3 || ta > 3) continue;  // stb: "bad DC/AC huff"
        // Which tables a scan decodes with: baseline both; a progressive DC first pass the DC table,
        // a DC refinement none, an AC scan the AC table.
        const bool need_dc = !progressive || (ss == 0 && ah == 0);
        const bool need_ac = !progressive || ss != 0;
        if ((need_dc && !dc[td]) || (need_ac && !ac[ta])) return "scan uses an undefined Huffman table";
        comps[which].scanned = true;
        if (progressive && ss <= se && se <= 63) {
          // A refinement (Ah > 0) must follow the pass that decoded those coefficients to bit Ah
          // (libjpeg's check): refining never-decoded coefficients reads stb's uninitialised memory.
          for (int k = ss; k <= se; ++k) {
            int& bits = comps[which].coef_bits[k];
            if (ah != (bits < 0 ? 0 : bits)) return "progressive scan refines coefficients out of order";
            bits = al;
          }
        }
      }
      // Skip the entropy-coded data: up to the next 0xFF that is not stuffing (FF 00) or a restart.
      size_t p = end;
      for (;;) {
        const void* ff = p < n ? std::memchr(d + p, 0xFF, n - p) : nullptr;
        if (ff == nullptr) return "";
        p = static_cast<size_t>(static_cast<const uint8_t*>(ff) - d);
        if (p + 1 >= n) return "";
        if (d[p + 1] != 0x00 && !(d[p + 1] >= 0xD0 && d[p + 1] <= 0xD7)) break;
        ++p;
      }
      pos = p;
      continue;
    }
    pos = end;
  }
}

}  // namespace mm::data::detail
