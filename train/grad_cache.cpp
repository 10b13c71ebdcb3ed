#include "train/grad_cache.h"

#include "autograd/functions.h"
#include "ops/copy.h"
#include "runtime/philox.h"

namespace mm::train {

namespace {

bool ends_with(const std::string& s, const char* suffix) {
  const std::string x(suffix);
  return s.size() >= x.size() && s.compare(s.size() - x.size(), x.size(), x) == 0;
}

Tensor copy_of(const Tensor& t) {
  Tensor c = Tensor::empty(t.shape(), t.dtype(), t.device());
  ops::copy_(c, t);
  return c;
}

// The BatchNorm running statistics of the model: (live tensor, its value when the step began).
std::vector<std::pair<Tensor, Tensor>> running_stats(const models::DualEncoder& model) {
  std::vector<std::pair<Tensor, Tensor>> out;
  for (auto& [name, t] : model.named_buffers())
    if (ends_with(name, "running_mean") || ends_with(name, "running_var") || ends_with(name, "num_batches_tracked"))
      out.emplace_back(t, copy_of(t));
  return out;
}

void restore(const std::vector<std::pair<Tensor, Tensor>>& stats) {
  for (auto& [live, start] : stats) ops::copy_(live, start);
}

}  // namespace

GradCacheResult grad_cache_backward(models::DualEncoder& model, const Tensor& images, const Tensor& input_ids,
                                    const Tensor& attention_mask, int64_t chunks,
                                    const std::function<Tensor(const Tensor&, const Tensor&)>& loss_fn) {
  const int64_t b = images.size(0);
  MM_CHECK(chunks >= 1 && b % chunks == 0, Value, "grad_cache", "train.accumulation_chunks = ", chunks,
           " must divide the batch of ", b, " samples");
  const int64_t c = b / chunks;
  const auto stats = running_stats(model);
  Generator& rng = default_generator();

  // 1. Embeddings of every chunk, without a graph.
  std::vector<uint64_t> offsets;
  std::vector<Tensor> img_parts, txt_parts;
  {
    NoGradGuard ng;
    for (int64_t k = 0; k < chunks; ++k) {
      offsets.push_back(rng.offset());
      restore(stats);
      img_parts.push_back(model.encode_image(narrow(images, 0, k * c, c)));
      txt_parts.push_back(model.encode_text(narrow(input_ids, 0, k * c, c), narrow(attention_mask, 0, k * c, c)));
    }
  }
  const uint64_t end_offset = rng.offset();

  // 2. The loss of the whole batch, and its gradient with respect to each embedding.
  GradCacheResult r;
  r.image_embeds = cat(img_parts, 0).set_requires_grad(true);
  r.text_embeds = cat(txt_parts, 0).set_requires_grad(true);
  Tensor loss = loss_fn(r.image_embeds, r.text_embeds);
  r.loss = loss.to_double_vector()[0];
  loss.backward();
  const Tensor d_img = r.image_embeds.grad(), d_txt = r.text_embeds.grad();
  r.image_embeds = r.image_embeds.detach();
  r.text_embeds = r.text_embeds.detach();

  // 3. Per chunk: the same forward again (same RNG draws), with a graph; backward of Σ E·dL/dE.
  std::vector<Tensor> updated;
  for (int64_t k = 0; k < chunks; ++k) {
    rng.set_offset(offsets[static_cast<size_t>(k)]);
    restore(stats);
    Tensor img = model.encode_image(narrow(images, 0, k * c, c));
    Tensor txt = model.encode_text(narrow(input_ids, 0, k * c, c), narrow(attention_mask, 0, k * c, c));
    Tensor surrogate = add(sum(mul(img, narrow(d_img, 0, k * c, c))), sum(mul(txt, narrow(d_txt, 0, k * c, c))));
    surrogate.backward();
    NoGradGuard ng;
    for (size_t i = 0; i < stats.size(); ++i) {
      const Tensor& live = stats[i].first;
      if (k == 0)
        updated.push_back(copy_of(live));
      else if (is_floating(live.dtype()))
        ops::copy_(updated[i], add(updated[i], live));
    }
  }
  // Running statistics: the mean over chunks of each chunk's update from the step's starting values.
  {
    NoGradGuard ng;
    for (size_t i = 0; i < stats.size(); ++i) {
      const Tensor& live = stats[i].first;
      ops::copy_(live, is_floating(live.dtype()) ? div(updated[i], static_cast<double>(chunks)) : updated[i]);
    }
  }
  rng.set_offset(end_offset);
  return r;
}

}  // namespace mm::train
