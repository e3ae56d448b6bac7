// Errors as values at module boundaries: Result<T> holds either a T or an Error.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace batchai {

// Most failures are just that; kUnreachable is a peer that could not be reached at all (a refused
// connection, a name that does not resolve), which a caller may try again sooner: trying costs
// that peer nothing.
enum class ErrorKind { kFailed, kUnreachable };

struct Error {
  std::string message;
  ErrorKind kind = ErrorKind::kFailed;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : data_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : data_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return std::holds_alternative<T>(data_); }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<T>(data_); }
  const T& value() const& { return std::get<T>(data_); }
  T&& value() && { return std::get<T>(std::move(data_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const { return std::get<Error>(data_); }

 private:
  std::variant<T, Error> data_;
};

// Result<void>: success or an Error.
struct Ok {};
using Status = Result<Ok>;

inline Status ok() {
  return Ok{};
}
inline Error err(std::string message, ErrorKind kind = ErrorKind::kFailed) {
  return Error{std::move(message), kind};
}

}  // namespace batchai
