// Typed errors. Every error a user can trigger (bad shapes, dtypes, devices, indices, files) is an
// mm::Error whose message names the op, the offending operands and the rule that was broken, e.g.
//   matmul: inner dimensions differ: [4,3] @ [5,2]
// User input is never assert()ed: it is checked with MM_CHECK and reported with a message.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace mm {

enum class ErrorKind {
  Shape,       // shapes incompatible with the op's rule
  DType,       // unsupported or mismatched dtypes
  Device,      // operands on different devices, or a backend missing
  Index,       // dimension or element index out of range
  Value,       // an argument value outside its domain (negative size, eps <= 0, ...)
  Autograd,    // misuse of the autograd engine (backward twice, non-scalar root, ...)
  NotImplemented,
  Runtime,     // allocation failures, CUDA/BLAS errors, I/O
};

const char* error_kind_name(ErrorKind k);

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, std::string op, const std::string& message)
      : std::runtime_error(op.empty() ? message : op + ": " + message), kind_(kind), op_(std::move(op)) {}
  ErrorKind kind() const { return kind_; }
  const std::string& op() const { return op_; }

 private:
  ErrorKind kind_;
  std::string op_;
};

namespace detail {
template <typename... Args>
std::string concat(Args&&... args) {
  std::ostringstream os;
  (os << ... << std::forward<Args>(args));
  return os.str();
}
}  // namespace detail

// Throw an mm::Error of the given kind for op `op` with a message built from the remaining
// arguments (anything with an operator<<).
template <typename... Args>
[[noreturn]] void fail(ErrorKind kind, const std::string& op, Args&&... args) {
  throw Error(kind, op, detail::concat(std::forward<Args>(args)...));
}

}  // namespace mm

// MM_CHECK(cond, kind, op, message parts...): the standard way to validate user input.
#define MM_CHECK(cond, kind, op, ...)                          \
  do {                                                         \
    if (!(cond)) ::mm::fail(::mm::ErrorKind::kind, op, __VA_ARGS__); \
  } while (0)

// MM_INTERNAL_ASSERT: invariants of our own code (not user input). A failure is a bug in mmalign.
#define MM_INTERNAL_ASSERT(cond)                                                             \
  do {                                                                                       \
    if (!(cond))                                                                             \
      ::mm::fail(::mm::ErrorKind::Runtime, "internal", "assertion failed: " #cond " at ",   \
                 __FILE__, ":", __LINE__, " (this is a bug in mmalign)");                     \
  } while (0)
