// Unary element-wise math, written once for CPU loops and CUDA kernels.
//
// Each functor has   fwd(x, args)        -> y
//                    bwd(g, x, y, args)  -> g · dy/dx   (the activation derivative, next to its forward)
// so an op's forward and backward math sit side by side. args carries the op's scalar parameters
// (pow exponent, clamp bounds, softplus beta/threshold). The op list lives in ops/op_table.h.
#pragma once

#include "ops/math/scalar_math.h"

namespace mm {

struct UnaryArgs {
  double a = 0;  // pow_scalar: exponent; clamp: min; softplus: beta
  double b = 0;  // clamp: max; softplus: threshold
  bool has_a = true, has_b = true;  // clamp: which bounds are present
};

#define MM_FWD template <typename T> MM_HOST_DEVICE MM_INLINE static T fwd(T x, const UnaryArgs& args)
#define MM_BWD template <typename T> MM_HOST_DEVICE MM_INLINE static T bwd(T g, T x, T y, const UnaryArgs& args)
#define MM_UNUSED_ARGS (void)args
#define MM_UNUSED_XY (void)x, (void)y

struct NegFn {
  MM_FWD { MM_UNUSED_ARGS; return -x; }
  MM_BWD { MM_UNUSED_ARGS; MM_UNUSED_XY; return -g; }
};
struct AbsFn {
  MM_FWD { MM_UNUSED_ARGS; return x < T(0) ? -x : x; }
  // sign(x)·g, with 0 at x = 0 (PyTorch's subgradient choice)
  MM_BWD { MM_UNUSED_ARGS; (void)y; return x > T(0) ? g : (x < T(0) ? -g : T(0)); }
};
struct ExpFn {
  MM_FWD { MM_UNUSED_ARGS; return math::exp(x); }
  MM_BWD { MM_UNUSED_ARGS; (void)x; return g * y; }
};
struct LogFn {
  MM_FWD { MM_UNUSED_ARGS; return math::log(x); }
  MM_BWD { MM_UNUSED_ARGS; (void)y; return g / x; }
};
struct Log1pFn {
  MM_FWD { MM_UNUSED_ARGS; return math::log1p(x); }
  MM_BWD { MM_UNUSED_ARGS; (void)y; return g / (T(1) + x); }
};
struct SqrtFn {
  MM_FWD { MM_UNUSED_ARGS; return math::sqrt(x); }
  MM_BWD { MM_UNUSED_ARGS; (void)x; return g / (T(2) * y); }
};
struct RsqrtFn {
  MM_FWD { MM_UNUSED_ARGS; return T(1) / math::sqrt(x); }
  // d/dx x^-1/2 = -1/2 x^-3/2 = -1/2 y^3
  MM_BWD { MM_UNUSED_ARGS; (void)x; return T(-0.5) * g * y * y * y; }
};
struct ReciprocalFn {
  MM_FWD { MM_UNUSED_ARGS; return T(1) / x; }
  MM_BWD { MM_UNUSED_ARGS; (void)x; return -g * y * y; }
};
struct SquareFn {
  MM_FWD { MM_UNUSED_ARGS; return x * x; }
  MM_BWD { MM_UNUSED_ARGS; (void)y; return T(2) * g * x; }
};
struct PowScalarFn {
  MM_FWD {
    T p = T(args.a);
    if (p == T(2)) return x * x;  // exact and fast for the common case
    return math::pow(x, p);
  }
  MM_BWD {
    (void)y;
    T p = T(args.a);
    if (p == T(0)) return T(0);
    return g * p * math::pow(x, p - T(1));
  }
};
struct SinFn {
  MM_FWD { MM_UNUSED_ARGS; return math::sin(x); }
  MM_BWD { MM_UNUSED_ARGS; (void)y; return g * math::cos(x); }
};
struct CosFn {
  MM_FWD { MM_UNUSED_ARGS; return math::cos(x); }
  MM_BWD { MM_UNUSED_ARGS; (void)y; return -g * math::sin(x); }
};
struct TanhFn {
  MM_FWD { MM_UNUSED_ARGS; return math::tanh(x); }
  MM_BWD { MM_UNUSED_ARGS; (void)x; return g * (T(1) - y * y); }
};
struct SigmoidFn {
  // Split by sign so exp never overflows: for x < 0, σ(x) = e^x / (1 + e^x).
  MM_FWD {
    MM_UNUSED_ARGS;
    if (x >= T(0)) return T(1) / (T(1) + math::exp(-x));
    T e = math::exp(x);
    return e / (T(1) + e);
  }
  MM_BWD { MM_UNUSED_ARGS; (void)x; return g * y * (T(1) - y); }
};
struct ReluFn {
  MM_FWD { MM_UNUSED_ARGS; return x > T(0) ? x : T(0); }
  MM_BWD { MM_UNUSED_ARGS; (void)y; return x > T(0) ? g : T(0); }
};
struct Relu6Fn {
  MM_FWD { MM_UNUSED_ARGS; return x <= T(0) ? T(0) : (x >= T(6) ? T(6) : x); }
  MM_BWD { MM_UNUSED_ARGS; (void)y; return (x > T(0) && x < T(6)) ? g : T(0); }
};
struct GeluFn {  // exact form: x·Φ(x)
  MM_FWD { MM_UNUSED_ARGS; return T(0.5) * x * (T(1) + math::erf(x * math::inv_sqrt_2<T>())); }
  MM_BWD {
    MM_UNUSED_ARGS;
    (void)y;
    T cdf = T(0.5) * (T(1) + math::erf(x * math::inv_sqrt_2<T>()));
    T pdf = math::inv_sqrt_2pi<T>() * math::exp(T(-0.5) * x * x);
    return g * (cdf + x * pdf);
  }
};
struct GeluTanhFn {  // tanh approximation: ½x(1 + tanh(√(2/π)(x + 0.044715x³)))
  MM_FWD {
    MM_UNUSED_ARGS;
    T inner = math::sqrt_2_over_pi<T>() * (x + T(0.044715) * x * x * x);
    return T(0.5) * x * (T(1) + math::tanh(inner));
  }
  MM_BWD {
    MM_UNUSED_ARGS;
    (void)y;
    T inner = math::sqrt_2_over_pi<T>() * (x + T(0.044715) * x * x * x);
    T t = math::tanh(inner);
    T dinner = math::sqrt_2_over_pi<T>() * (T(1) + T(3 * 0.044715) * x * x);
    return g * (T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * dinner);
  }
};
struct SiluFn {  // x·σ(x)
  MM_FWD { return x * SigmoidFn::fwd(x, args); }
  MM_BWD {
    (void)y;
    T s = SigmoidFn::fwd(x, args);
    return g * s * (T(1) + x * (T(1) - s));
  }
};
struct SoftplusFn {  // (1/β)·log(1 + e^{βx}); linear above the threshold, as in PyTorch
  MM_FWD {
    T beta = T(args.a), thr = T(args.b);
    T bx = beta * x;
    if (bx > thr) return x;
    // log1p(e^{bx}) = max(bx,0) + log1p(e^{-|bx|}) avoids overflow for large bx
    T m = bx > T(0) ? bx : T(0);
    return (m + math::log1p(math::exp(-(bx > T(0) ? bx : -bx)))) / beta;
  }
  MM_BWD {
    (void)y;
    T beta = T(args.a), thr = T(args.b);
    T bx = beta * x;
    if (bx > thr) return g;
    return g * SigmoidFn::fwd(bx, args);
  }
};
struct LogSigmoidFn {  // log σ(x) = -softplus(-x) = min(x,0) - log1p(e^{-|x|})
  MM_FWD {
    MM_UNUSED_ARGS;
    T m = x < T(0) ? x : T(0);
    return m - math::log1p(math::exp(-(x < T(0) ? -x : x)));
  }
  MM_BWD { (void)y; return g * SigmoidFn::fwd(-x, args); }
};
struct ErfFn {
  MM_FWD { MM_UNUSED_ARGS; return math::erf(x); }
  MM_BWD {
    MM_UNUSED_ARGS;
    (void)y;
    return g * T(1.1283791670955126) * math::exp(-x * x);  // 2/√π · e^{-x²}
  }
};
struct ClampFn {
  MM_FWD {
    if (args.has_a && x < T(args.a)) x = T(args.a);
    if (args.has_b && x > T(args.b)) x = T(args.b);
    return x;
  }
  // Gradient passes where the input lies inside [min, max] (bounds included, like PyTorch).
  MM_BWD {
    (void)y;
    bool in = (!args.has_a || x >= T(args.a)) && (!args.has_b || x <= T(args.b));
    return in ? g : T(0);
  }
};

#undef MM_FWD
#undef MM_BWD
#undef MM_UNUSED_ARGS
#undef MM_UNUSED_XY

}  // namespace mm
