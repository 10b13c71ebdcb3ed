// Checking that a statement throws an mm::Error — its kind and what its message says — for every
// test program (tests/common/ is shared by all of them).
//
//   EXPECT_ERROR_CONTAINS(reshape(t, {4, 2}), ErrorKind::Shape, "reshape", "invalid for input of size 6");
//
// passes when the statement throws an mm::Error of that kind whose message contains every one of the
// strings (one or more). Otherwise it fails at the caller's line with the kind and message actually
// thrown (or says that nothing was). Any other exception propagates and fails the test, as it would
// uncaught. The statement runs in a [&] lambda: it may use the test's locals.
//
// error_message(f) is the message of the mm::Error f throws ("" when it throws none), for checks of
// another form.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>

#include "runtime/error.h"

namespace mm::testing {

inline std::string error_message(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// The check behind EXPECT_ERROR_CONTAINS, as a gtest assertion result.
inline ::testing::AssertionResult throws_error(const std::function<void()>& f, ErrorKind kind,
                                               std::initializer_list<std::string_view> parts) {
  try {
    f();
  } catch (const Error& e) {
    const std::string msg = e.what();
    bool ok = e.kind() == kind;
    ::testing::AssertionResult failure = ::testing::AssertionFailure();
    if (e.kind() != kind)
      failure << "expected " << error_kind_name(kind) << ", got " << error_kind_name(e.kind()) << "\n";
    for (std::string_view p : parts) {
      if (msg.find(p) != std::string::npos) continue;
      ok = false;
      failure << "'" << p << "' is not in the message\n";
    }
    if (ok) return ::testing::AssertionSuccess();
    return failure << "message: " << msg;
  }
  ::testing::AssertionResult failure = ::testing::AssertionFailure();
  failure << "no mm::Error thrown; expected " << error_kind_name(kind) << " containing";
  for (std::string_view p : parts) failure << " '" << p << "'";
  return failure;
}

}  // namespace mm::testing

// EXPECT_ERROR_CONTAINS(statement, kind, "part", ...): see the top of this file.
#define EXPECT_ERROR_CONTAINS(stmt, kind, ...) \
  EXPECT_TRUE(::mm::testing::throws_error([&] { stmt; }, kind, {__VA_ARGS__}))
