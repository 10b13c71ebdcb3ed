// The embedded default data set (SPEC §6.1): procedurally generated image–caption pairs, so the
// program trains and evaluates out of the box, with nothing downloaded.
//
// Each image (64×64 by default) shows 2–3 objects on a noisy grey background. An object has one of
// 6 shapes, one of 7 colours, a size (small/large) and a position; the caption names every object
// and how they lie relative to each other:
//   "a large red circle left of a small blue star"
//   "a small green cross above a large yellow square, and a small purple star right of the square"
// The relation between two objects comes from their centres (the larger of |dx| and |dy| decides
// between left/right and above/below; placements where the two are close are redrawn), so every
// caption is true of its image.
//
// Splits test compositional generalisation: one (shape, colour) combination per shape is held out
// (chosen from the seed). Training and validation images never contain a held-out combination;
// every test image contains at least one, and every test caption is unique. Validation is
// in-distribution (unseen images of seen combinations), so model selection does not peek at the
// held-out combinations.
//
// Deterministic: the sample list is drawn once from the seed (sample i from its own SampleRng stream;
// a test caption that repeats an earlier one is redrawn), and each image is a pure function of
// (seed, split, index), the same on any thread, in memory or written to disk.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace mm::data {

inline constexpr std::array<const char*, 6> kShapes = {"circle", "square", "triangle", "star", "cross", "diamond"};
inline constexpr std::array<const char*, 7> kColours = {"red", "green", "blue", "yellow", "purple", "orange", "white"};

enum class Split { Train, Val, Test };
const char* split_name(Split s);

struct SyntheticObject {
  int shape = 0, colour = 0;
  bool large = false;
  double cx = 0, cy = 0;  // centre, in units of the image side (0..1)
};

struct SyntheticSample {
  std::vector<SyntheticObject> objects;  // 2 or 3, sorted left to right
  std::string caption;
};

struct SyntheticOptions {
  uint64_t seed = 0;
  int64_t num_train = 8000, num_val = 500, num_test = 500;
  int64_t image_size = 64;
};

class SyntheticSet {
 public:
  explicit SyntheticSet(SyntheticOptions options);

  const SyntheticOptions& options() const { return options_; }
  const std::vector<SyntheticSample>& samples(Split s) const;
  // Whether (shape, colour) is held out of training.
  bool held_out(int shape, int colour) const { return held_out_colour_[shape] == colour; }
  // The image of sample i of split s: RGB, row-major [size, size, 3], deterministic.
  std::vector<uint8_t> render(Split s, int64_t i) const;

 private:
  SyntheticOptions options_;
  std::array<int, kShapes.size()> held_out_colour_{};
  std::vector<SyntheticSample> train_, val_, test_;
};

// "a large red circle" (the words of one object).
std::string describe(const SyntheticObject& o);
// The caption of a sample's objects (sorted left to right).
std::string caption_of(const std::vector<SyntheticObject>& objects);

// Writes the set as the user-facing captions.csv format: DIR/{train,val,test}/captions.csv (header
// filename,caption) and DIR/<split>/images/NNNNNN.png. Each file is written to a temporary name and
// renamed, so an interrupted run leaves no half-written file.
void write_synthetic(const SyntheticSet& set, const std::string& dir);

}  // namespace mm::data
