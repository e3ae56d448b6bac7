// An answer that is an error: the HTTP status and the body {"error": {"code", "message"}}.
#pragma once

#include <string>

namespace batchai::cp {

struct ApiError {
  int status = 400;
  std::string code;
  std::string message;  // one line, or a first line and one problem per following line
};

inline ApiError bad_request(std::string code, std::string message) {
  return {400, std::move(code), std::move(message)};
}
inline ApiError not_found(std::string code, std::string message) {
  return {404, std::move(code), std::move(message)};
}
inline ApiError conflict(std::string code, std::string message) {
  return {409, std::move(code), std::move(message)};
}

}  // namespace batchai::cp
