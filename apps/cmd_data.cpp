// `mmalign data synth`: writes the synthetic set (data/synthetic.h) in the captions.csv format.
#include <chrono>
#include <cstdio>

#include "apps/commands.h"
#include "data/synthetic.h"

namespace mm::app {

int run_data_synth(const DataSynthArgs& a) {
  const auto t0 = std::chrono::steady_clock::now();
  data::SyntheticOptions o;
  o.seed = a.seed;
  o.image_size = a.image_size;
  o.num_test = std::max<int64_t>(1, a.n / 20);
  o.num_val = std::max<int64_t>(1, a.n / 20);
  o.num_train = a.n - o.num_test - o.num_val;
  data::SyntheticSet set(o);
  data::write_synthetic(set, a.out);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("wrote %lld train, %lld val, %lld test images (%lldx%lld) and captions to %s/{train,val,test} in %.1f s\n",
              static_cast<long long>(o.num_train), static_cast<long long>(o.num_val),
              static_cast<long long>(o.num_test), static_cast<long long>(o.image_size),
              static_cast<long long>(o.image_size), a.out.c_str(), s);
  return 0;
}

}  // namespace mm::app
