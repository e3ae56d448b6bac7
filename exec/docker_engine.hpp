// The Docker Engine REST API over its unix socket, with libcurl (dockerd and podman's
// Docker-compatible service both serve it). Only what job containers need: ping, pull with
// registry credentials, create, start, exec with its output demultiplexed, stop, remove, list.
// Every call has a timeout; an engine that does not answer is an error, never a hang.
#pragma once

#include <atomic>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace batchai {

struct RegistryAuth {
  std::string username;
  std::string password;  // secret: only in the X-Registry-Auth header
  std::string server;    // "" for Docker Hub
};

struct EngineReply {
  long status = 0;
  std::string body;
};

class DockerEngine {
 public:
  static constexpr const char* kApiVersion = "v1.41";

  explicit DockerEngine(std::string socket_path, int timeout_seconds = 60)
      : socket_(std::move(socket_path)), timeout_s_(timeout_seconds) {}

  // GET /_ping: the engine runs and answers.
  Status ping();
  // Whether the image is present locally.
  Result<bool> has_image(const std::string& image);
  // POST /images/create: fails with the registry's words (denied, not found).
  Status pull(const std::string& image, const std::optional<RegistryAuth>& auth);
  // POST /containers/create?name=...: the container's id.
  Result<std::string> create(const std::string& name, const nlohmann::json& body);
  Status start(const std::string& id);
  // POST /containers/{id}/stop?t=grace: SIGTERM, then SIGKILL after grace seconds.
  Status stop(const std::string& id, int grace_seconds);
  // DELETE /containers/{id}?force=1: a container that is gone already is not an error.
  Status remove(const std::string& id);
  // GET /containers/json?all=1&filters={"label":[labels]}: the names of the containers that
  // carry every one of the labels ("key=value").
  Result<std::vector<std::string>> list(const std::vector<std::string>& labels);
  // Runs argv in the container (exec) and writes its output as it comes: stdout to out_fd,
  // stderr to err_fd. Returns the command's exit code. `stop` is looked at while it runs;
  // timeout_seconds bounds the whole run (0: none, as a job's task runs as long as it does).
  Result<int> exec(const std::string& id, const std::vector<std::string>& argv,
                   const std::vector<std::string>& env, const std::string& workdir, int out_fd,
                   int err_fd, const std::atomic<bool>* stop, int timeout_seconds = 0);

  // One request; body "" sends none. Exposed for tests and for the calls above.
  Result<EngineReply> request(const std::string& method, const std::string& path,
                              const std::string& body = "",
                              const std::vector<std::string>& headers = {},
                              const std::function<bool(const char*, std::size_t)>& sink = {},
                              const std::atomic<bool>* stop = nullptr, int timeout_seconds = -1);

 private:
  std::string socket_;
  int timeout_s_;
};

// Docker's stream framing without a TTY: 8-byte headers (stream 1 stdout, 2 stderr, then the
// payload size, big-endian) before each piece. Feed it bytes as they come.
class StreamDemuxer {
 public:
  using Sink = std::function<void(int stream, const char* data, std::size_t size)>;
  explicit StreamDemuxer(Sink sink) : sink_(std::move(sink)) {}
  void feed(const char* data, std::size_t size);

 private:
  Sink sink_;
  unsigned char header_[8] = {};
  std::size_t header_have_ = 0;
  std::size_t payload_left_ = 0;
  int stream_ = 1;
};

// The engine's message in an error reply ({"message": ...}), or the status.
std::string engine_message(const EngineReply& reply);

// The error a pull's progress lines (JSON, one a line) end with, if any: a pull may fail
// after its 200.
std::optional<std::string> pull_error(const std::string& body);

// The names of GET /containers/json's answer, without their leading '/'.
Result<std::vector<std::string>> container_names(const std::string& body);

// X-Registry-Auth: base64url of {"username", "password", "serveraddress"}.
std::string registry_auth_header(const RegistryAuth& auth);

}  // namespace batchai
