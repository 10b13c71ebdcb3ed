// Retrieval and zero-shot metrics (train/eval/retrieval.h) against the reference of
// tools/golden/retrieval.py (tests/golden/retrieval/*.safetensors): quantised embeddings whose dot
// products are exact in f32 and f64, with many exact ties, so ranks and recalls must match exactly,
// whatever the dtype and the chunk size.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "autograd/functions.h"
#include "tests/common/expect_error.h"
#include "ops/copy.h"
#include "ops/creation.h"
#include "runtime/philox.h"
#include "runtime/safetensors.h"
#include "runtime/storage.h"
#include "train/eval/retrieval.h"

namespace mm {
namespace {

using train::RetrievalOptions;

struct GoldenCase {
  std::map<std::string, Tensor> t;
  std::map<std::string, std::string> meta;
  explicit GoldenCase(const std::string& name) {
    const auto f = safetensors::File::open(std::string(MMALIGN_SOURCE_DIR) + "/tests/golden/retrieval/" + name +
                                           ".safetensors");
    for (const auto& info : f.tensors()) t[info.name] = f.load(info.name);
    meta = f.metadata();
  }
  nlohmann::json json(const std::string& key) const { return nlohmann::json::parse(meta.at(key)); }
  std::vector<int64_t> ints(const std::string& key) const {
    const Tensor& x = t.at(key);
    return std::vector<int64_t>(x.data<int64_t>(), x.data<int64_t>() + x.numel());
  }
};

const std::vector<std::string> kCases = {"main", "distractors", "all_tied", "one_image"};
const std::vector<int64_t> kChunks = {1, 7, 1024};

void expect_metrics(const train::RetrievalMetrics& m, const nlohmann::json& want, const std::string& where) {
  SCOPED_TRACE(where);
  EXPECT_EQ(m.num_images, want.at("num_images").get<int64_t>());
  EXPECT_EQ(m.num_texts, want.at("num_texts").get<int64_t>());
  EXPECT_EQ(m.images_without_captions, want.at("images_without_captions").get<int64_t>());
  // Recalls are count / N, R-sum their sum in a fixed order: exactly equal.
  EXPECT_EQ(m.i2t_r1, want.at("i2t_r1").get<double>());
  EXPECT_EQ(m.i2t_r5, want.at("i2t_r5").get<double>());
  EXPECT_EQ(m.i2t_r10, want.at("i2t_r10").get<double>());
  EXPECT_EQ(m.t2i_r1, want.at("t2i_r1").get<double>());
  EXPECT_EQ(m.t2i_r5, want.at("t2i_r5").get<double>());
  EXPECT_EQ(m.t2i_r10, want.at("t2i_r10").get<double>());
  EXPECT_EQ(m.rsum, want.at("rsum").get<double>());
  EXPECT_NEAR(m.i2t_mean_rank, want.at("i2t_mean_rank").get<double>(), 1e-12);
  EXPECT_NEAR(m.i2t_median_rank, want.at("i2t_median_rank").get<double>(), 1e-12);
  EXPECT_NEAR(m.t2i_mean_rank, want.at("t2i_mean_rank").get<double>(), 1e-12);
  EXPECT_NEAR(m.t2i_median_rank, want.at("t2i_median_rank").get<double>(), 1e-12);
}

void expect_label_metrics(const train::LabelRetrievalMetrics& m, const nlohmann::json& want, const std::string& where) {
  SCOPED_TRACE(where);
  EXPECT_EQ(m.num_queries, want.at("num_queries").get<int64_t>());
  EXPECT_EQ(m.num_gallery, want.at("num_gallery").get<int64_t>());
  EXPECT_EQ(m.queries_without_relevant, want.at("queries_without_relevant").get<int64_t>());
  EXPECT_EQ(m.r1, want.at("r1").get<double>());
  EXPECT_EQ(m.r5, want.at("r5").get<double>());
  EXPECT_EQ(m.r10, want.at("r10").get<double>());
  EXPECT_NEAR(m.map, want.at("map").get<double>(), 1e-12);
}

// Every golden retrieval case in the given dtype and device, at every chunk size.
void check_golden_cases(DType dtype, Device device) {
  for (const auto& name : kCases) {
    const GoldenCase g(name);
    const Tensor img = ops::to_device(ops::to_dtype(g.t.at("image_embeds"), dtype), device);
    const Tensor txt = ops::to_device(ops::to_dtype(g.t.at("text_embeds"), dtype), device);
    const Tensor t2i = ops::to_device(g.t.at("text_to_image"), device);
    const Tensor labels = g.t.at("labels");
    // The `mmalign eval` label convention: a caption's identity is its image's.
    const Tensor text_labels = Tensor::from_vector(
        [&] {
          std::vector<int64_t> v;
          for (int64_t i : g.ints("text_to_image")) v.push_back(labels.data<int64_t>()[i]);
          return v;
        }(),
        {txt.size(0)});
    for (int64_t chunk : kChunks) {
      const std::string where = name + " " + dtype_name(dtype) + " " + device.str() + " chunk " + std::to_string(chunk);
      const RetrievalOptions opts{chunk};
      const auto ranks = train::retrieval_ranks(img, txt, t2i, opts);
      EXPECT_EQ(ranks.image_to_text, g.ints("expected/i2t_ranks")) << where;
      EXPECT_EQ(ranks.text_to_image, g.ints("expected/t2i_ranks")) << where;
      expect_metrics(train::evaluate_retrieval(img, txt, t2i, opts), g.json("metrics"), where);
      expect_label_metrics(
          train::evaluate_label_retrieval(txt, img, ops::to_device(text_labels, device), ops::to_device(labels, device), opts),
          g.json("label_metrics"), where + " labels");
      expect_label_metrics(train::evaluate_label_retrieval(txt, img, ops::to_device(g.t.at("pedes/query_labels"), device),
                                                           ops::to_device(g.t.at("pedes/gallery_labels"), device), opts),
                           g.json("pedes_metrics"), where + " pedes labels");
    }
  }
}

TEST(Retrieval, GoldenCasesF32) { check_golden_cases(DType::F32, kCPU); }
TEST(Retrieval, GoldenCasesF64) { check_golden_cases(DType::F64, kCPU); }

TEST(Retrieval, GoldenCasesCuda) {
  if (!device_backend_available(DeviceKind::CUDA)) GTEST_SKIP() << "no CUDA device";
  check_golden_cases(DType::F32, cuda_device());
  check_golden_cases(DType::F64, cuda_device());
}

TEST(Retrieval, GoldenCasesHaveTheEdgesTheyClaim) {
  // Guards the fixture itself: a regenerated file that lost its ties or edge cases would make the
  // tests above weaker without failing them.
  const GoldenCase main("main");
  const auto t2i = main.ints("text_to_image");
  EXPECT_FALSE(std::is_sorted(t2i.begin(), t2i.end()));
  std::map<int64_t, int> per_image;
  for (int64_t i : t2i) ++per_image[i];
  EXPECT_EQ(per_image[11], 3);
  EXPECT_EQ(per_image[23], 1);
  const auto img = main.t.at("image_embeds").to_double_vector();
  EXPECT_TRUE(std::equal(img.begin() + 2 * 16, img.begin() + 3 * 16, img.begin() + 9 * 16));  // duplicate rows
  EXPECT_GT(main.json("pedes_metrics").at("queries_without_relevant").get<int64_t>(), 0);
  EXPECT_EQ(GoldenCase("distractors").json("metrics").at("images_without_captions").get<int64_t>(), 2);
  EXPECT_EQ(GoldenCase("one_image").t.at("image_embeds").size(0), 1);
}

TEST(Retrieval, AllTiedScoresRankByIndex) {
  // Every score equal: the rule leaves only the index order (rank = 1 + index of the true item), which
  // the golden ranks encode; also the lowest-index caption decides an image's rank.
  const GoldenCase g("all_tied");
  const auto ranks = train::retrieval_ranks(g.t.at("image_embeds"), g.t.at("text_embeds"), g.t.at("text_to_image"));
  const auto t2i = g.ints("text_to_image");
  for (size_t t = 0; t < t2i.size(); ++t) EXPECT_EQ(ranks.text_to_image[t], 1 + t2i[t]);
  EXPECT_EQ(ranks.image_to_text, g.ints("expected/i2t_ranks"));
}

// Random, unquantised embeddings: no exact arithmetic to lean on, so this checks that a row's scores
// do not depend on how many rows share its GEMM call.
TEST(Retrieval, ChunkSizeDoesNotChangeResultsOnRandomData) {
  for (DType dtype : {DType::F32, DType::F64}) {
    Generator gen(11);
    const Tensor img = normalize(ops::to_dtype(ops::randn({53, 24}, DType::F64, kCPU, &gen), dtype), 2.0, 1);
    const Tensor txt = normalize(ops::to_dtype(ops::randn({131, 24}, DType::F64, kCPU, &gen), dtype), 2.0, 1);
    std::vector<int64_t> t2i_v, labels_v;
    for (int64_t t = 0; t < 131; ++t) t2i_v.push_back((t * 17) % 53);
    for (int64_t i = 0; i < 53; ++i) labels_v.push_back(i % 9);
    const Tensor t2i = Tensor::from_vector(t2i_v, {131});
    const Tensor labels = Tensor::from_vector(labels_v, {53});
    std::vector<int64_t> qv;
    for (int64_t g : t2i_v) qv.push_back(labels_v[static_cast<size_t>(g)]);
    const Tensor qlabels = Tensor::from_vector(qv, {131});
    const auto ref = train::retrieval_ranks(img, txt, t2i, {1000});
    const auto ref_l = train::evaluate_label_retrieval(txt, img, qlabels, labels, {1000});
    for (int64_t chunk : {1, 2, 7, 52, 53, 130}) {
      const auto r = train::retrieval_ranks(img, txt, t2i, {chunk});
      EXPECT_EQ(r.image_to_text, ref.image_to_text) << dtype_name(dtype) << " chunk " << chunk;
      EXPECT_EQ(r.text_to_image, ref.text_to_image) << dtype_name(dtype) << " chunk " << chunk;
      const auto l = train::evaluate_label_retrieval(txt, img, qlabels, labels, {chunk});
      EXPECT_EQ(l.r1, ref_l.r1);
      EXPECT_EQ(l.r10, ref_l.r10);
      EXPECT_EQ(l.map, ref_l.map);
    }
    EXPECT_LT(ref.text_to_image[0], 54);  // sanity: ranks are positions among 53 images
  }
}

TEST(Retrieval, ZeroShotAgainstReference) {
  const GoldenCase g("zeroshot");
  const Tensor cls = train::zero_shot_classifier(g.t.at("prompt_embeds"));
  ASSERT_EQ(cls.shape(), (Shape{6, 16}));
  ASSERT_EQ(cls.dtype(), DType::F64);
  const auto got = cls.to_double_vector(), want = g.t.at("expected/class_embeds").to_double_vector();
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-12) << i;
  const auto got32 = train::zero_shot_classifier(ops::to_dtype(g.t.at("prompt_embeds"), DType::F32)).to_double_vector();
  for (size_t i = 0; i < got32.size(); ++i) EXPECT_NEAR(got32[i], want[i], 1e-6) << i;  // f32 rounding

  const auto acc_want = g.json("accuracy");
  for (DType dtype : {DType::F32, DType::F64})
    for (int64_t chunk : kChunks) {
      const auto a = train::zero_shot_accuracy(ops::to_dtype(g.t.at("image_embeds"), dtype),
                                               ops::to_dtype(g.t.at("class_embeds"), dtype), g.t.at("labels"), {chunk});
      EXPECT_EQ(a.num_images, acc_want.at("num_images").get<int64_t>());
      EXPECT_EQ(a.num_classes, acc_want.at("num_classes").get<int64_t>());
      EXPECT_EQ(a.top1, acc_want.at("top1").get<double>()) << chunk;
      EXPECT_EQ(a.top5, acc_want.at("top5").get<double>()) << chunk;
    }
}

TEST(Retrieval, JsonAndStr) {
  const GoldenCase g("main");
  const auto m = train::evaluate_retrieval(g.t.at("image_embeds"), g.t.at("text_embeds"), g.t.at("text_to_image"));
  const nlohmann::json j = m.to_json();
  // The JSON holds exactly the reference's fields, with the same values.
  EXPECT_EQ(j, g.json("metrics"));
  const std::string s = m.str();
  EXPECT_EQ(s.find('\n'), std::string::npos);
  char r1[32];
  std::snprintf(r1, sizeof r1, "i2t R@1 %.2f", 100.0 * m.i2t_r1);
  EXPECT_NE(s.find(r1), std::string::npos) << s;
  const auto l = train::evaluate_label_retrieval(g.t.at("text_embeds"), g.t.at("image_embeds"),
                                                 g.t.at("pedes/query_labels"), g.t.at("pedes/gallery_labels"));
  EXPECT_EQ(l.to_json(), g.json("pedes_metrics"));
  EXPECT_NE(l.str().find("mAP"), std::string::npos);
  const GoldenCase z("zeroshot");
  const auto a = train::zero_shot_accuracy(z.t.at("image_embeds"), z.t.at("class_embeds"), z.t.at("labels"));
  EXPECT_EQ(a.to_json(), z.json("accuracy"));
}

// ---- errors ---------------------------------------------------------------------------------------

Tensor with_value(const Tensor& t, int64_t row, int64_t col, double v) {
  std::vector<float> x;
  for (double d : t.to_double_vector()) x.push_back(static_cast<float>(d));
  x[static_cast<size_t>(row * t.size(1) + col)] = static_cast<float>(v);
  return Tensor::from_vector(x, t.shape());
}

TEST(Retrieval, NonFiniteEmbeddingsNameTensorAndRow) {
  const GoldenCase g("main");
  const Tensor img = g.t.at("image_embeds"), txt = g.t.at("text_embeds"), t2i = g.t.at("text_to_image");
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  EXPECT_ERROR_CONTAINS(train::retrieval_ranks(with_value(img, 3, 5, nan), txt, t2i), ErrorKind::Value,
                        "image_embeds row 3, column 5 is nan");
  EXPECT_ERROR_CONTAINS(train::retrieval_ranks(img, with_value(txt, 150, 0, -inf), t2i), ErrorKind::Value,
                        "text_embeds row 150, column 0 is -inf");
  EXPECT_ERROR_CONTAINS(train::evaluate_label_retrieval(with_value(txt, 7, 2, nan), img, t2i, g.t.at("labels")), ErrorKind::Value,
                        "query_embeds row 7");
  EXPECT_ERROR_CONTAINS(train::zero_shot_accuracy(img, with_value(img, 39, 15, nan), ops::zeros({40}, DType::I64)),
                        ErrorKind::Value, "class_embeds row 39, column 15");
  Tensor prompts = ops::to_dtype(GoldenCase("zeroshot").t.at("prompt_embeds"), DType::F32);
  prompts = ops::reshape(with_value(ops::reshape(prompts, {24, 16}), 4 * 3 + 2, 1, nan), {6, 4, 16});
  EXPECT_ERROR_CONTAINS(train::zero_shot_classifier(prompts), ErrorKind::Value, "prompt_embeds[3, 2], column 1");
  // Finite rows whose dot product overflows f32.
  const Tensor big = with_value(with_value(img, 0, 0, 1e30), 0, 1, 1e30);
  const Tensor bigt = with_value(with_value(txt, 4, 0, 1e30), 4, 1, 1e30);
  EXPECT_ERROR_CONTAINS(train::retrieval_ranks(big, bigt, t2i), ErrorKind::Value, "not finite", "row 4", "row 0");
}

TEST(Retrieval, ShapeDtypeAndIndexErrorsNameTheArgument) {
  const GoldenCase g("main");
  const Tensor img = g.t.at("image_embeds"), txt = g.t.at("text_embeds"), t2i = g.t.at("text_to_image");
  using train::retrieval_ranks;
  EXPECT_ERROR_CONTAINS(retrieval_ranks(ops::reshape(img, {-1}), txt, t2i), ErrorKind::Shape, "image_embeds must be 2-D");
  EXPECT_ERROR_CONTAINS(retrieval_ranks(img, ops::zeros({0, 16}), t2i), ErrorKind::Shape, "text_embeds has no rows");
  EXPECT_ERROR_CONTAINS(retrieval_ranks(img, ops::zeros({194, 8}), t2i), ErrorKind::Shape, "image_embeds [40,16]",
                        "text_embeds [194,8]", "width");
  EXPECT_ERROR_CONTAINS(retrieval_ranks(ops::to_dtype(img, DType::I64), txt, t2i), ErrorKind::DType,
                        "image_embeds must be f32 or f64, got i64");
  EXPECT_ERROR_CONTAINS(retrieval_ranks(img, ops::to_dtype(txt, DType::F64), t2i), ErrorKind::DType,
                        "image_embeds is f32 but text_embeds is f64");
  EXPECT_ERROR_CONTAINS(retrieval_ranks(img, txt, ops::to_dtype(t2i, DType::F32)), ErrorKind::DType,
                        "text_to_image must be i64, got f32");
  EXPECT_ERROR_CONTAINS(retrieval_ranks(img, txt, ops::slice(t2i, 0, 0, 10)), ErrorKind::Shape,
                        "text_to_image must be [194]", "got [10]");
  std::vector<int64_t> bad = g.ints("text_to_image");
  bad[2] = 40;
  EXPECT_ERROR_CONTAINS(retrieval_ranks(img, txt, Tensor::from_vector(bad, {194})), ErrorKind::Index,
                        "text_to_image[2] = 40 is out of range [0, 40)");
  bad[2] = -1;
  EXPECT_ERROR_CONTAINS(retrieval_ranks(img, txt, Tensor::from_vector(bad, {194})), ErrorKind::Index,
                        "text_to_image[2] = -1");
  EXPECT_ERROR_CONTAINS(retrieval_ranks(img, txt, t2i, {0}), ErrorKind::Value, "chunk_rows must be at least 1");
  EXPECT_ERROR_CONTAINS(train::evaluate_label_retrieval(txt, img, t2i, ops::zeros({39}, DType::I64)), ErrorKind::Shape,
                        "gallery_labels must be [40]");
  EXPECT_ERROR_CONTAINS(train::evaluate_label_retrieval(txt, img, ops::zeros({194}, DType::I64),
                                                        ops::ones({40}, DType::I64)),
                        ErrorKind::Value, "no query label occurs in gallery_labels");
  EXPECT_ERROR_CONTAINS(train::zero_shot_accuracy(img, ops::slice(img, 0, 0, 7), ops::full({40}, 7, DType::I64)),
                        ErrorKind::Index, "labels[0] = 7 is out of range [0, 7)");
  EXPECT_ERROR_CONTAINS(train::zero_shot_classifier(img), ErrorKind::Shape, "prompt_embeds must be [classes, templates, d]");
  EXPECT_ERROR_CONTAINS(train::summarize_ranks({}), ErrorKind::Value, "no text→image ranks");
}

TEST(Retrieval, UnitNormReport) {
  const GoldenCase g("main");
  EXPECT_EQ(train::unit_norm_report(g.t.at("image_embeds")).rows_off, 0);  // the fixture's rows are exactly unit
  Tensor img = with_value(g.t.at("image_embeds"), 6, 0, 3.0);
  img = with_value(img, 30, 1, 0.2501);
  const auto rep = train::unit_norm_report(img);
  EXPECT_EQ(rep.rows_off, 1);  // row 30 is off by ~1e-4, under the 1e-3 tolerance
  EXPECT_EQ(rep.worst_row, 6);
  EXPECT_NEAR(rep.worst_norm, std::sqrt(1.0 - 1.0 / 16 + 9.0), 1e-6);
}

// The score-matrix entry point (for cross-encoder heads) agrees with the embedding one, ties included:
// small integer embeddings make many scores exactly equal.
TEST(RetrievalScores, MatchesTheEmbeddingPath) {
  manual_seed(17);
  const Tensor img = ops::to_dtype(ops::randint(-2, 3, {12, 4}), DType::F64);
  const Tensor txt = ops::to_dtype(ops::randint(-2, 3, {30, 4}), DType::F64);
  std::vector<int64_t> t2i;
  for (int64_t t = 0; t < 30; ++t) t2i.push_back((t * 5) % 11);  // image 11 has no caption
  const Tensor t2i_t = Tensor::from_vector(t2i, {30});
  const train::RetrievalMetrics a = train::evaluate_retrieval(img, txt, t2i_t);
  const train::RetrievalMetrics b = train::evaluate_retrieval_scores(matmul(img, transpose(txt, 0, 1)), t2i_t);
  EXPECT_EQ(a.to_json().dump(), b.to_json().dump());
  EXPECT_EQ(b.images_without_captions, 1);
  EXPECT_ERROR_CONTAINS(train::evaluate_retrieval_scores(ops::zeros({3}), t2i_t), ErrorKind::Shape, "[images, texts]");
}

}  // namespace
}  // namespace mm
