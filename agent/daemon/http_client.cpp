#include "agent/daemon/http_client.hpp"

#include <curl/curl.h>

#include <cstdlib>

#include "common/fs.hpp"
#include "protocol/messages.hpp"

namespace batchai {

void curl_global_init_once() {
  static const bool done = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  (void)done;
}

struct HttpClient::Impl {
  DaemonConfig config;
  const std::atomic<bool>* abort = nullptr;
  std::string auth_header;  // "Authorization: Bearer ..." or ""; never logged
  CURL* curl = nullptr;
  ~Impl() {
    if (curl != nullptr) curl_easy_cleanup(curl);
  }
};

namespace {

struct Sink {
  std::string* body;
  bool too_large = false;
};

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* sink = static_cast<Sink*>(user);
  if (sink->body->size() + size * count > protocol::kMaxMessageBytes) {
    sink->too_large = true;
    return 0;  // aborts the transfer
  }
  sink->body->append(data, size * count);
  return size * count;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* out = static_cast<HttpResponse*>(user);
  std::string line(data, size * count);
  constexpr const char kRetryAfter[] = "retry-after:";
  if (line.size() > sizeof kRetryAfter && strncasecmp(line.c_str(), kRetryAfter, 12) == 0) {
    long secs = std::strtol(line.c_str() + 12, nullptr, 10);
    if (secs >= 0 && secs <= 3600) out->retry_after_seconds = static_cast<int>(secs);
  }
  return size * count;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto* abort = static_cast<const std::atomic<bool>*>(user);
  return abort != nullptr && abort->load() ? 1 : 0;
}

}  // namespace

void HttpClient::set_abort_flag(const std::atomic<bool>* flag) {
  impl_->abort = flag;
}

HttpClient::HttpClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpClient::HttpClient(HttpClient&&) noexcept = default;
HttpClient& HttpClient::operator=(HttpClient&&) noexcept = default;
HttpClient::~HttpClient() = default;

Result<HttpClient> HttpClient::create(const DaemonConfig& config) {
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  if (!config.token_file.empty()) {
    auto token = read_file(config.token_file, 16384);
    if (!token) return err("tokenFile: " + token.error().message);
    std::string t = *token;
    while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.pop_back();
    if (t.empty() || t.find_first_of("\r\n") != std::string::npos) {
      return err("tokenFile: the token must be one non-empty line");
    }
    impl->auth_header = "Authorization: Bearer " + t;
  }
  impl->curl = curl_easy_init();
  if (impl->curl == nullptr) return err("cannot initialise libcurl");
  return HttpClient(std::move(impl));
}

Result<HttpResponse> HttpClient::request(const std::string& method, const std::string& path,
                                         const std::string& body, int timeout_seconds) {
  CURL* c = impl_->curl;
  curl_easy_reset(c);
  HttpResponse response;
  Sink sink{&response.body};
  const std::string url = impl_->config.control_plane_url + path;
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR,
                   impl_->config.allow_insecure_http ? "http,https" : "https");
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, static_cast<long>(timeout_seconds));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!impl_->config.ca_bundle.empty()) {
    curl_easy_setopt(c, CURLOPT_CAINFO, impl_->config.ca_bundle.c_str());
  }
  if (!impl_->config.client_certificate.empty()) {
    curl_easy_setopt(c, CURLOPT_SSLCERT, impl_->config.client_certificate.c_str());
    curl_easy_setopt(c, CURLOPT_SSLKEY, impl_->config.client_key.c_str());
  }
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Content-Type: application/json");
  headers = curl_slist_append(headers, "Expect:");
  if (!impl_->auth_header.empty()) headers = curl_slist_append(headers, impl_->auth_header.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (method != "GET") {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &response);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, impl_->abort);
  CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(headers);
  if (sink.too_large) return err(method + " " + path + ": the response is too large");
  if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST) {
    return err(method + " " + path + ": " + curl_easy_strerror(rc), ErrorKind::kUnreachable);
  }
  if (rc != CURLE_OK) return err(method + " " + path + ": " + curl_easy_strerror(rc));
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

}  // namespace batchai
