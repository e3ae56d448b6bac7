#include "exec/docker_engine.hpp"

#include <curl/curl.h>
#include <unistd.h>

#include <memory>

#include "common/base64.hpp"
#include "common/fs.hpp"

namespace batchai {

namespace {

using nlohmann::json;

struct CurlFree {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct ListFree {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

constexpr std::size_t kMaxBody = 4 << 20;

struct Transfer {
  std::string* body = nullptr;
  const std::function<bool(const char*, std::size_t)>* sink = nullptr;
  const std::atomic<bool>* stop = nullptr;
};

std::size_t on_data(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t len = size * n;
  if (t->sink != nullptr && *t->sink) return (*t->sink)(data, len) ? len : 0;
  if (t->body->size() < kMaxBody) t->body->append(data, std::min(len, kMaxBody - t->body->size()));
  return len;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  return t->stop != nullptr && t->stop->load() ? 1 : 0;
}

std::string url_escape(const std::string& s) {
  std::unique_ptr<char, decltype(&curl_free)> e(
      curl_easy_escape(nullptr, s.c_str(), static_cast<int>(s.size())), &curl_free);
  return e ? std::string(e.get()) : std::string();
}

Status expect(const Result<EngineReply>& r, std::initializer_list<long> ok_statuses,
              const std::string& what) {
  if (!r) return r.error();
  for (long s : ok_statuses) {
    if (r->status == s) return ok();
  }
  return err(what + ": " + engine_message(*r));
}

}  // namespace

std::string engine_message(const EngineReply& reply) {
  try {
    auto j = json::parse(reply.body);
    if (j.is_object() && j.contains("message") && j["message"].is_string()) {
      return j["message"].get<std::string>() + " (" + std::to_string(reply.status) + ")";
    }
  } catch (const json::exception&) {
  }
  return "the engine answered " + std::to_string(reply.status);
}

std::string registry_auth_header(const RegistryAuth& auth) {
  json j = {
      {"username", auth.username}, {"password", auth.password}, {"serveraddress", auth.server}};
  // URL-safe with padding: dockerd pulls anonymously, silently, on anything else.
  return "X-Registry-Auth: " + base64_encode(j.dump(), Base64Alphabet::kUrlSafe, true);
}

void StreamDemuxer::feed(const char* data, std::size_t size) {
  while (size > 0) {
    if (payload_left_ == 0) {
      std::size_t take = std::min<std::size_t>(8 - header_have_, size);
      std::copy(data, data + take, header_ + header_have_);
      header_have_ += take;
      data += take;
      size -= take;
      if (header_have_ < 8) return;
      header_have_ = 0;
      stream_ = header_[0] == 2 ? 2 : 1;
      payload_left_ = (std::size_t{header_[4]} << 24) | (std::size_t{header_[5]} << 16) |
                      (std::size_t{header_[6]} << 8) | std::size_t{header_[7]};
      continue;
    }
    std::size_t take = std::min(payload_left_, size);
    sink_(stream_, data, take);
    payload_left_ -= take;
    data += take;
    size -= take;
  }
}

Result<EngineReply> DockerEngine::request(const std::string& method, const std::string& path,
                                          const std::string& body,
                                          const std::vector<std::string>& headers,
                                          const std::function<bool(const char*, std::size_t)>& sink,
                                          const std::atomic<bool>* stop, int timeout_seconds) {
  std::unique_ptr<CURL, CurlFree> curl(curl_easy_init());
  if (!curl) return err("libcurl: cannot start a request");
  EngineReply reply;
  Transfer t{&reply.body, &sink, stop};
  const std::string url = std::string("http://docker/") + kApiVersion + path;
  char error[CURL_ERROR_SIZE] = {};
  std::unique_ptr<curl_slist, ListFree> list;
  curl_slist* raw = nullptr;
  raw = curl_slist_append(raw, "Content-Type: application/json");
  for (const auto& h : headers) raw = curl_slist_append(raw, h.c_str());
  list.reset(raw);
  curl_easy_setopt(curl.get(), CURLOPT_UNIX_SOCKET_PATH, socket_.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_HTTPHEADER, list.get());
  curl_easy_setopt(curl.get(), CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(curl.get(), CURLOPT_CONNECTTIMEOUT, 10L);
  const int timeout = timeout_seconds < 0 ? timeout_s_ : timeout_seconds;
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT, static_cast<long>(timeout));
  if (stop != nullptr) {
    curl_easy_setopt(curl.get(), CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(curl.get(), CURLOPT_XFERINFODATA, &t);
    curl_easy_setopt(curl.get(), CURLOPT_NOPROGRESS, 0L);
  }
  if (!body.empty() || method == "POST") {
    curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  CURLcode rc = curl_easy_perform(curl.get());
  if (rc == CURLE_ABORTED_BY_CALLBACK && stop != nullptr && stop->load()) {
    return err("stopped");
  }
  if (rc != CURLE_OK) {
    return err("the container engine at " + socket_ + " does not answer: " +
               (error[0] != '\0' ? std::string(error) : curl_easy_strerror(rc)));
  }
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &reply.status);
  return reply;
}

Status DockerEngine::ping() {
  return expect(request("GET", "/_ping"), {200}, "ping");
}

Result<bool> DockerEngine::has_image(const std::string& image) {
  auto r = request("GET", "/images/" + url_escape(image) + "/json");
  if (!r) return r.error();
  if (r->status == 200) return true;
  if (r->status == 404) return false;
  return err("looking up the image " + image + ": " + engine_message(*r));
}

Status DockerEngine::pull(const std::string& image, const std::optional<RegistryAuth>& auth) {
  std::vector<std::string> headers;
  if (auth) headers.push_back(registry_auth_header(*auth));
  // A pull reports progress as JSON lines and may fail after a 200, in an "error" line.
  auto r = request("POST", "/images/create?fromImage=" + url_escape(image), "", headers, {},
                   nullptr, 30 * 60);
  if (!r) return r.error();
  if (r->status != 200) return err(engine_message(*r));
  if (auto e = pull_error(r->body)) return err(*e);
  return ok();
}

std::optional<std::string> pull_error(const std::string& body) {
  std::size_t at = 0;
  while (at < body.size()) {
    std::size_t end = body.find('\n', at);
    if (end == std::string::npos) end = body.size();
    try {
      auto j = json::parse(body.substr(at, end - at));
      if (j.is_object() && j.contains("error") && j["error"].is_string()) {
        return j["error"].get<std::string>();
      }
    } catch (const json::exception&) {
    }
    at = end + 1;
  }
  return std::nullopt;
}

Result<std::vector<std::string>> container_names(const std::string& body) {
  std::vector<std::string> names;
  try {
    for (const auto& c : json::parse(body)) {
      if (c.is_object() && c.contains("Names") && c["Names"].is_array() && !c["Names"].empty() &&
          c["Names"][0].is_string()) {
        std::string n = c["Names"][0];
        names.push_back(n.starts_with("/") ? n.substr(1) : n);
      }
    }
  } catch (const json::exception&) {
    return err("list: the engine's answer is not a container list");
  }
  return names;
}

Result<std::string> DockerEngine::create(const std::string& name, const json& body) {
  auto r = request("POST", "/containers/create?name=" + url_escape(name), body.dump());
  if (!r) return r.error();
  if (r->status != 201) return err(engine_message(*r));
  try {
    return json::parse(r->body).at("Id").get<std::string>();
  } catch (const json::exception&) {
    return err("the engine's answer to create has no Id");
  }
}

Status DockerEngine::start(const std::string& id) {
  return expect(request("POST", "/containers/" + url_escape(id) + "/start"), {204, 304}, "start");
}

Status DockerEngine::stop(const std::string& id, int grace_seconds) {
  return expect(
      request("POST", "/containers/" + url_escape(id) + "/stop?t=" + std::to_string(grace_seconds),
              "", {}, {}, nullptr, timeout_s_ + grace_seconds),
      {204, 304, 404}, "stop");
}

Status DockerEngine::remove(const std::string& id) {
  return expect(request("DELETE", "/containers/" + url_escape(id) + "?force=1&v=1"), {204, 404},
                "remove");
}

Result<std::vector<std::string>> DockerEngine::list(const std::vector<std::string>& labels) {
  json filters = {{"label", labels}};
  auto r = request("GET", "/containers/json?all=1&filters=" + url_escape(filters.dump()));
  if (!r) return r.error();
  if (r->status != 200) return err("list: " + engine_message(*r));
  return container_names(r->body);
}

Result<int> DockerEngine::exec(const std::string& id, const std::vector<std::string>& argv,
                               const std::vector<std::string>& env, const std::string& workdir,
                               int out_fd, int err_fd, const std::atomic<bool>* stop,
                               int timeout_seconds) {
  json body = {
      {"AttachStdout", true}, {"AttachStderr", true}, {"Tty", false}, {"Cmd", argv}, {"Env", env}};
  if (!workdir.empty()) body["WorkingDir"] = workdir;
  auto created = request("POST", "/containers/" + url_escape(id) + "/exec", body.dump());
  if (!created) return created.error();
  if (created->status != 201) return err("exec: " + engine_message(*created));
  std::string exec_id;
  try {
    exec_id = json::parse(created->body).at("Id").get<std::string>();
  } catch (const json::exception&) {
    return err("exec: the engine's answer has no Id");
  }
  StreamDemuxer demux([&](int stream, const char* data, std::size_t size) {
    int fd = stream == 2 ? err_fd : out_fd;
    while (size > 0) {
      ssize_t n = ::write(fd, data, size);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;  // the reader is gone; the command still runs to its end
      data += n;
      size -= static_cast<std::size_t>(n);
    }
  });
  std::function<bool(const char*, std::size_t)> sink = [&](const char* d, std::size_t n) {
    demux.feed(d, n);
    return true;
  };
  auto started =
      request("POST", "/exec/" + exec_id + "/start", json{{"Detach", false}, {"Tty", false}}.dump(),
              {}, sink, stop, timeout_seconds);
  if (!started) return started.error();
  if (started->status != 200) return err("exec start: " + engine_message(*started));
  auto info = request("GET", "/exec/" + exec_id + "/json");
  if (!info) return info.error();
  try {
    auto j = json::parse(info->body);
    if (j.at("Running").get<bool>())
      return err("exec: the command still runs after its output ended");
    return j.at("ExitCode").get<int>();
  } catch (const json::exception&) {
    return err("exec: the engine's answer has no exit code");
  }
}

}  // namespace batchai
