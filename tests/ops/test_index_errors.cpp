// The indexing family's error reporting (typed mm::Error naming the op, the offending value, the
// dimension and its size), empty and 0-d inputs, the padding_idx gradient, and the determinism of
// the CPU scatter-add.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "autograd/functions.h"
#include "runtime/parallel.h"
#include "tests/common/expect_error.h"

namespace mm {
namespace {

Tensor i64(const std::vector<int64_t>& v, const Shape& shape) { return Tensor::from_vector<int64_t>(v, shape); }
Tensor f32(const Shape& shape) { return ops::ones(shape, DType::F32); }

TEST(IndexErrors, OutOfRangeIndicesNameOpValueDimAndSize) {
  EXPECT_ERROR_CONTAINS(index_select(f32({4, 3}), 0, i64({1, 5}, {2})), ErrorKind::Index,
                        "index_select", "index 5", "dimension 0", "size 4");
  EXPECT_ERROR_CONTAINS(index_select(f32({4, 3}), 1, i64({-1}, {1})), ErrorKind::Index,
                        "index_select", "index -1", "dimension 1", "size 3");
  EXPECT_ERROR_CONTAINS(gather(f32({2, 3}), 1, i64({0, 1, 3, 0}, {2, 2})), ErrorKind::Index,
                        "gather", "index 3", "dimension 1", "size 3");
  EXPECT_ERROR_CONTAINS(scatter_add(f32({2, 3}), 0, i64({2, 0}, {1, 2}), f32({1, 2})), ErrorKind::Index,
                        "scatter_add", "index 2", "dimension 0", "size 2");
  EXPECT_ERROR_CONTAINS(ops::index_add(f32({2, 3}), 0, i64({0, 7}, {2}), f32({2, 3})), ErrorKind::Index,
                        "index_add", "index 7", "size 2");
  EXPECT_ERROR_CONTAINS(one_hot(i64({0, 3}, {2}), 3), ErrorKind::Index, "one_hot", "class index 3", "num_classes 3");
  EXPECT_ERROR_CONTAINS(one_hot(i64({0, -2}, {2})), ErrorKind::Index, "one_hot", "class index -2");
  EXPECT_ERROR_CONTAINS(embedding(f32({5, 2}), i64({1, 5}, {2})), ErrorKind::Index, "embedding", "index 5", "size 5");
}

TEST(IndexErrors, ShapesDtypesAndArguments) {
  EXPECT_ERROR_CONTAINS(index_select(f32({4, 3}), 0, i64({0, 1}, {1, 2})), ErrorKind::Shape,
                        "index_select", "0-d or 1-D");
  EXPECT_ERROR_CONTAINS(index_select(f32({4, 3}), 2, i64({0}, {1})), ErrorKind::Index, "dimension 2", "rank 2");
  EXPECT_ERROR_CONTAINS(index_select(f32({4, 3}), 0, f32({1})), ErrorKind::DType, "index_select", "i64 or i32", "f32");
  EXPECT_ERROR_CONTAINS(gather(f32({4, 3}), 0, i64({0, 1}, {2})), ErrorKind::Shape, "gather", "rank");
  EXPECT_ERROR_CONTAINS(gather(f32({2, 3}), 1, i64({0, 0, 0}, {3, 1})), ErrorKind::Shape,
                        "gather", "[3,1]", "larger than the input", "dimension 0");
  EXPECT_ERROR_CONTAINS(scatter_add(f32({3, 3}), 0, i64({0, 0, 0}, {1, 3}), f32({1, 2})), ErrorKind::Shape,
                        "scatter_add", "larger than src", "dimension 1");
  EXPECT_ERROR_CONTAINS(scatter_add(f32({3}), 0, i64({0}, {1}), ops::ones({1}, DType::F64)), ErrorKind::DType,
                        "scatter_add", "f64", "f32");
  EXPECT_ERROR_CONTAINS(ops::index_add(f32({3, 2}), 0, i64({0}, {1}), f32({1, 3})), ErrorKind::Shape,
                        "index_add", "[1,2]");
  EXPECT_ERROR_CONTAINS(one_hot(f32({2})), ErrorKind::DType, "one_hot", "f32");
  EXPECT_ERROR_CONTAINS(one_hot(i64({}, {0})), ErrorKind::Value, "one_hot", "empty");
  EXPECT_ERROR_CONTAINS(one_hot(i64({1}, {1}), -3), ErrorKind::Value, "one_hot", "num_classes");
  EXPECT_ERROR_CONTAINS(topk(f32({2, 3}), 4), ErrorKind::Index, "topk", "k = 4", "size 3");
  EXPECT_ERROR_CONTAINS(topk(f32({2, 3}), -1), ErrorKind::Index, "topk", "k = -1");
  EXPECT_ERROR_CONTAINS(sort(f32({2, 3}), 2), ErrorKind::Index, "sort", "dimension 2");
  EXPECT_ERROR_CONTAINS(embedding(f32({5}), i64({1}, {1})), ErrorKind::Shape, "embedding", "2-D");
  EXPECT_ERROR_CONTAINS(embedding(f32({5, 2}), f32({1})), ErrorKind::DType, "embedding", "ids");
  EXPECT_ERROR_CONTAINS(embedding(f32({5, 2}), i64({1}, {1}), 5), ErrorKind::Index, "embedding", "padding_idx 5");
}

TEST(IndexOps, EmptyAndZeroDimInputs) {
  EXPECT_EQ(index_select(f32({4, 3}), 0, i64({}, {0})).shape(), (Shape{0, 3}));
  EXPECT_EQ(gather(f32({4, 3}), 1, i64({}, {4, 0})).shape(), (Shape{4, 0}));
  Tensor x = ops::full({2, 2}, 3.0);
  EXPECT_EQ(scatter_add(x, 0, i64({}, {0, 2}), f32({0, 2})).to_double_vector(), (std::vector<double>{3, 3, 3, 3}));
  EXPECT_EQ(one_hot(i64({}, {0}), 3).shape(), (Shape{0, 3}));
  auto [v, i] = sort(f32({3, 0}), 1);
  EXPECT_EQ(v.shape(), (Shape{3, 0}));
  EXPECT_EQ(i.shape(), (Shape{3, 0}));
  EXPECT_EQ(topk(f32({2, 5}), 0).first.shape(), (Shape{2, 0}));
  EXPECT_EQ(embedding(f32({4, 2}), i64({}, {0, 3})).shape(), (Shape{0, 3, 2}));
  // 0-d tensors behave as one-element 1-D tensors along dim 0.
  Tensor s = ops::full({}, 2.5);
  EXPECT_EQ(index_select(s, 0, i64({0}, {1})).shape(), Shape{});
  auto [sv, si] = sort(s);
  EXPECT_EQ(sv.item(), 2.5);
  EXPECT_EQ(si.item(), 0.0);
  EXPECT_EQ(one_hot(i64({2}, {}), 4).to_double_vector(), (std::vector<double>{0, 0, 1, 0}));
}

TEST(IndexOps, EmbeddingPaddingRowGetsNoGradient) {
  Tensor w = Tensor::from_vector<double>({1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, {5, 2}).set_requires_grad(true);
  Tensor y = embedding(w, i64({1, 4, 1, 0, 4, 2}, {2, 3}), /*padding_idx=*/4);
  EXPECT_EQ(y.to_double_vector()[2], 9.0);  // the padding row is still looked up
  sum(y).backward();
  EXPECT_EQ(w.grad().to_double_vector(), (std::vector<double>{1, 1, 2, 2, 1, 1, 0, 0, 0, 0}));
}

TEST(IndexOps, RepeatedIndicesAccumulateInBackward) {
  Tensor x = ops::zeros({3, 2}, DType::F64).set_requires_grad(true);
  sum(index_select(x, 0, i64({2, 2, 0, 2}, {4}))).backward();
  EXPECT_EQ(x.grad().to_double_vector(), (std::vector<double>{1, 1, 0, 0, 3, 3}));
}

TEST(IndexOps, OtherDtypes) {
  // gather-style ops move elements of any dtype; scatter_add accumulates u8 in i32 (wrapping mod 256)
  // and f16/bf16 in f32; sort orders f16/bf16/bool.
  Tensor b = ops::to_dtype(Tensor::from_vector<double>({0, 1, 1, 0}, {4}), DType::Bool);
  EXPECT_EQ(index_select(b, 0, i64({1, 0, 2}, {3})).to_double_vector(), (std::vector<double>{1, 0, 1}));
  Tensor h = ops::to_dtype(Tensor::from_vector<double>({0.5, -2, 3.25}, {3}), DType::F16);
  Tensor hs = gather(h, 0, i64({2, 2, 1}, {3}));
  EXPECT_EQ(hs.dtype(), DType::F16);
  EXPECT_EQ(hs.to_double_vector(), (std::vector<double>{3.25, 3.25, -2}));
  Tensor u = Tensor::from_vector<uint8_t>({250, 1}, {2});
  Tensor us = scatter_add(u, 0, i64({0, 0}, {2}), Tensor::from_vector<uint8_t>({5, 5}, {2}));
  EXPECT_EQ(us.dtype(), DType::U8);
  EXPECT_EQ(us.to_double_vector(), (std::vector<double>{4, 1}));
  Tensor bf = ops::to_dtype(Tensor::from_vector<double>({2, -1, 0.5, -1}, {4}), DType::BF16);
  Tensor bfs = scatter_add(bf, 0, i64({3, 3}, {2}), bf);
  EXPECT_EQ(bfs.dtype(), DType::BF16);
  EXPECT_EQ(bfs.to_double_vector(), (std::vector<double>{2, -1, 0.5, 0}));
  auto [v, i] = sort(bf, 0, /*descending=*/true);
  EXPECT_EQ(v.dtype(), DType::BF16);
  EXPECT_EQ(v.to_double_vector(), (std::vector<double>{2, 0.5, -1, -1}));
  EXPECT_EQ(i.to_double_vector(), (std::vector<double>{0, 2, 1, 3}));  // stable: tie keeps 1 before 3
  EXPECT_EQ(argsort(b).to_double_vector(), (std::vector<double>{0, 3, 1, 2}));
  // A non-contiguous (strided) index and an expanded one.
  Tensor idx = ops::slice(i64({2, 9, 0, 9, 1, 9}, {6}), 0, 0, 6, 2);
  EXPECT_EQ(index_select(Tensor::from_vector<double>({10, 11, 12}, {3}), 0, idx).to_double_vector(),
            (std::vector<double>{12, 10, 11}));
  Tensor ex = ops::expand(i64({1}, {1, 1}), {2, 3});
  EXPECT_EQ(gather(ops::reshape(Tensor::from_vector<double>({1, 2, 3, 4, 5, 6}, {6}), {2, 3}), 1, ex).to_double_vector(),
            (std::vector<double>{2, 2, 2, 5, 5, 5}));
}

// The CPU scatter-add owns each output line with one thread and adds in index order, so the result
// is the same bits as a plain sequential loop, whatever the thread count.
TEST(IndexOps, CpuScatterAddIsDeterministicAndSequentialOrder) {
  const int64_t rows = 7, width = 300, n = 5000;
  std::vector<int64_t> idx(n * width);
  std::vector<float> src(n * width);
  for (int64_t i = 0; i < n * width; ++i) {
    idx[i] = (i * 2654435761LL) % rows;
    src[i] = static_cast<float>(((i * 40503) % 1000) - 500) * 1.37e-3f;
  }
  Tensor index = i64(idx, {n, width});
  Tensor s = Tensor::from_vector<float>(src, {n, width});
  std::vector<float> want(rows * width, 0.5f);
  for (int64_t j = 0; j < n; ++j)
    for (int64_t c = 0; c < width; ++c) want[idx[j * width + c] * width + c] += src[j * width + c];
  int saved = num_threads();
  for (int threads : {1, 2, 3}) {
    set_num_threads(threads);
    Tensor out = ops::scatter_add(ops::full({rows, width}, 0.5), 0, index, s);
    const float* p = out.data<float>();
    for (int64_t e = 0; e < rows * width; ++e) ASSERT_EQ(p[e], want[e]) << "element " << e << ", " << threads << " threads";
  }
  set_num_threads(saved);
}

}  // namespace
}  // namespace mm
