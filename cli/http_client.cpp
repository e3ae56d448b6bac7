#include "cli/http_client.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <new>

namespace batchai::cli {
namespace {

constexpr std::size_t kMaxResponseBytes = 256u << 20;
constexpr long kConnectTimeoutSeconds = 20;
constexpr long kStallSeconds = 120;  // abort when less than 1 byte/s arrives for this long

struct Exchange {
  HttpResponse response;
  bool too_large = false;
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* ex = static_cast<Exchange*>(user);
  std::size_t n = size * count;
  if (ex->response.body.size() + n > kMaxResponseBytes) {
    ex->too_large = true;
    return 0;  // makes libcurl fail with CURLE_WRITE_ERROR
  }
  ex->response.body.append(data, n);
  return n;
}

std::string trim(std::string s) {
  auto space = [](unsigned char c) { return std::isspace(c) != 0; };
  while (!s.empty() && space(static_cast<unsigned char>(s.back()))) s.pop_back();
  auto first = std::find_if_not(s.begin(), s.end(), space);
  s.erase(s.begin(), first);
  return s;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* ex = static_cast<Exchange*>(user);
  std::size_t n = size * count;
  std::string line(data, n);
  if (line.rfind("HTTP/", 0) == 0) {
    ex->response.headers.clear();  // a new response (after 100 Continue, say)
    return n;
  }
  auto colon = line.find(':');
  if (colon == std::string::npos) return n;
  std::string name = line.substr(0, colon);
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  ex->response.headers[trim(name)] = trim(line.substr(colon + 1));
  return n;
}

struct HeaderList {
  curl_slist* list = nullptr;
  ~HeaderList() { curl_slist_free_all(list); }
  void add(const std::string& line) {
    curl_slist* next = curl_slist_append(list, line.c_str());
    if (next == nullptr) throw std::bad_alloc();
    list = next;
  }
};

// The URL as errors name it: a signed link's query is its credential and stays out.
std::string shown_url(const std::string& url) {
  const auto query = url.find('?');
  if (query == std::string::npos || url.find("sig=", query) == std::string::npos) return url;
  return url.substr(0, query) + "?...";
}

}  // namespace

std::string HttpResponse::header(const std::string& lower_case_name) const {
  auto it = headers.find(lower_case_name);
  return it == headers.end() ? std::string() : it->second;
}

HttpClient::HttpClient(ClientConfig config) : config_(std::move(config)), curl_(curl_easy_init()) {
  if (curl_ == nullptr) throw std::bad_alloc();
}

HttpClient::~HttpClient() {
  curl_easy_cleanup(curl_);
}

Result<HttpResponse> HttpClient::send(const std::string& method, const std::string& target,
                                      const std::string* body,
                                      const std::vector<std::string>& extra_headers) {
  const std::string url = config_.server.base + target;
  curl_easy_reset(curl_);  // keeps the open connection for the next request
  Exchange ex;
  char error_text[CURL_ERROR_SIZE] = {0};
  HeaderList headers;
  headers.add("Accept: application/json");
  headers.add("Expect:");
  if (!config_.token.empty()) headers.add("Authorization: Bearer " + config_.token);
  for (const auto& line : extra_headers) headers.add(line);

  curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl_, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl_, CURLOPT_FOLLOWLOCATION, 0L);  // a redirect must not carry the token
  curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl_, CURLOPT_CONNECTTIMEOUT, kConnectTimeoutSeconds);
  curl_easy_setopt(curl_, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(curl_, CURLOPT_LOW_SPEED_TIME, kStallSeconds);
  curl_easy_setopt(curl_, CURLOPT_USERAGENT, "batchai-cli/" BATCHAI_VERSION);
  curl_easy_setopt(curl_, CURLOPT_ERRORBUFFER, error_text);
  curl_easy_setopt(curl_, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl_, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!config_.cacert.empty()) curl_easy_setopt(curl_, CURLOPT_CAINFO, config_.cacert.c_str());
  if (config_.server.loopback) curl_easy_setopt(curl_, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &ex);
  curl_easy_setopt(curl_, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl_, CURLOPT_HEADERDATA, &ex);

  const std::string no_body;
  const std::string& payload = body != nullptr ? *body : no_body;  // alive until perform returns
  if (method == "GET") {
    curl_easy_setopt(curl_, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(curl_, CURLOPT_CUSTOMREQUEST, method.c_str());
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, payload.c_str());
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(payload.size()));
    if (body != nullptr) headers.add("Content-Type: application/json");
  }
  curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers.list);

  CURLcode rc = curl_easy_perform(curl_);
  if (ex.too_large) {
    return err(shown_url(url) + ": the answer is larger than " + std::to_string(kMaxResponseBytes) +
               " bytes");
  }
  if (rc != CURLE_OK) {
    std::string why = error_text[0] != '\0' ? error_text : curl_easy_strerror(rc);
    return err("cannot reach " + shown_url(url) + ": " + why);
  }
  curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &ex.response.status);
  return std::move(ex.response);
}

}  // namespace batchai::cli
