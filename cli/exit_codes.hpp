// The exit statuses of the batchai command.
#pragma once

namespace batchai::cli {

enum ExitCode : int {
  kExitOk = 0,
  kExitServer = 1,      // the server answered with an error (or an answer we cannot use)
  kExitUsage = 2,       // bad arguments, an unreadable or invalid local file, a 400 from the server
  kExitConnection = 3,  // the server could not be reached (DNS, TCP, TLS)
};

}  // namespace batchai::cli
