// A command's failure: the exit status, one message and, for a rejected document, every problem.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cli/exit_codes.hpp"
#include "cli/http_client.hpp"
#include "common/result.hpp"

namespace batchai::cli {

struct Failure {
  ExitCode code = kExitServer;
  std::string message;
  std::vector<std::string> problems;  // one line each, printed below the message
  std::string server_code;            // the server's error.code ("JobNotFound"), if it sent one
};

// A failure with just a message.
inline Failure fail(ExitCode code, std::string message) {
  Failure f;
  f.code = code;
  f.message = std::move(message);
  return f;
}

// The failure an HTTP exchange amounts to: a transport error (exit 3), a 400 (exit 2, with the
// problems the server listed), another 4xx/5xx (exit 1); nullopt for a 2xx answer.
std::optional<Failure> failure_of(const Result<HttpResponse>& exchange);

// Prints "batchai: <what>: <message>" and the problem lines to stderr; returns the exit status.
int report(const std::string& what, const Failure& failure);

}  // namespace batchai::cli
