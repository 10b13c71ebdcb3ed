#include "train/embed.h"

#include "autograd/functions.h"
#include "autograd/grad_mode.h"
#include "runtime/error.h"

namespace mm::train {

namespace {

constexpr int64_t kChunk = 64;  // rows per forward: bounds memory for large input files

template <typename F>
Tensor chunked(int64_t n, F f) {
  TensorList parts;
  for (int64_t i = 0; i < n; i += kChunk) parts.push_back(f(i, std::min(n, i + kChunk)));
  return parts.size() == 1 ? parts[0] : cat(parts, 0);
}

}  // namespace

nn::NamedTensors embed(Towers& towers, const std::map<std::string, Tensor>& in, bool raw, const std::string& source) {
  NoGradGuard no_grad;
  nn::NamedTensors out;
  auto finish = [raw](const Tensor& f) { return raw ? f : normalize(f, 2.0, 1); };
  if (auto it = in.find("pixel_values"); it != in.end()) {
    MM_CHECK(towers.image != nullptr, Value, "embed", source, " has pixel_values but the config has no image tower");
    const Tensor& px = it->second;
    MM_CHECK(px.dim() == 4 && px.dtype() == DType::F32, Value, "embed", source,
             ": pixel_values must be f32 [N, 3, H, W], got ", dtype_name(px.dtype()), " ", shape_str(px.shape()));
    out.emplace_back("image_embeds", chunked(px.shape()[0], [&](int64_t i, int64_t j) {
                       return finish(towers.image->features(slice(px, 0, i, j)));
                     }));
  }
  if (auto it = in.find("input_ids"); it != in.end()) {
    MM_CHECK(towers.text != nullptr, Value, "embed", source, " has input_ids but the config has no text tower");
    const Tensor& ids = it->second;
    MM_CHECK(ids.dim() == 2 && ids.dtype() == DType::I64, Value, "embed", source,
             ": input_ids must be i64 [N, T], got ", dtype_name(ids.dtype()), " ", shape_str(ids.shape()));
    auto m = in.find("attention_mask");
    const Tensor mask = m != in.end() ? m->second : Tensor();
    MM_CHECK(!mask.defined() || mask.shape() == ids.shape(), Value, "embed", source, ": attention_mask ",
             mask.defined() ? shape_str(mask.shape()) : "", " does not match input_ids ", shape_str(ids.shape()));
    auto tt = in.find("token_type_ids");
    const Tensor types = tt != in.end() ? tt->second : Tensor();
    MM_CHECK(!types.defined() || types.shape() == ids.shape(), Value, "embed", source, ": token_type_ids ",
             types.defined() ? shape_str(types.shape()) : "", " does not match input_ids ", shape_str(ids.shape()));
    auto rows = [](const Tensor& t, int64_t i, int64_t j) { return t.defined() ? slice(t, 0, i, j) : Tensor(); };
    out.emplace_back("text_embeds", chunked(ids.shape()[0], [&](int64_t i, int64_t j) {
                       return finish(towers.text->features(slice(ids, 0, i, j), rows(mask, i, j), rows(types, i, j)));
                     }));
  }
  MM_CHECK(!out.empty(), Value, "embed", source, " holds neither pixel_values nor input_ids");
  return out;
}

}  // namespace mm::train
