#include "mount/blob_probe.hpp"

#include <curl/curl.h>

#include <memory>

namespace batchai {

namespace {

struct CurlFree {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};

constexpr std::size_t kMaxBody = 16 * 1024;

std::size_t collect(char* data, std::size_t size, std::size_t n, void* out) {
  auto* body = static_cast<std::string*>(out);
  if (body->size() < kMaxBody) body->append(data, size * n);
  return size * n;
}

// The text of the first <tag>...</tag> in the storage service's error body.
std::string xml_field(const std::string& body, const std::string& tag) {
  const std::string open = "<" + tag + ">";
  const auto start = body.find(open);
  if (start == std::string::npos) return "";
  const auto end = body.find('<', start + open.size());
  if (end == std::string::npos || body.compare(end, tag.size() + 3, "</" + tag + ">") != 0)
    return "";
  return body.substr(start + open.size(), end - start - open.size());
}

}  // namespace

Status probe_container(const std::string& sas_url, const std::string& display_url,
                       int timeout_seconds) {
  std::unique_ptr<CURL, CurlFree> curl(curl_easy_init());
  if (!curl) return err("libcurl: cannot start a request");
  // List Blobs, one at most: what a container SAS may do, and it needs the container to exist.
  const std::string url = sas_url + "&restype=container&comp=list&maxresults=1";
  std::string body;
  char error[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT, static_cast<long>(timeout_seconds));
  curl_easy_setopt(curl.get(), CURLOPT_CONNECTTIMEOUT, static_cast<long>(timeout_seconds));
  curl_easy_setopt(curl.get(), CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl.get(), CURLOPT_ERRORBUFFER, error);
  struct curl_slist* headers = curl_slist_append(nullptr, "x-ms-version: 2020-10-02");
  curl_easy_setopt(curl.get(), CURLOPT_HTTPHEADER, headers);
  CURLcode rc = curl_easy_perform(curl.get());
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) {
    return err("cannot reach " + display_url + ": " +
               (error[0] != '\0' ? std::string(error) : curl_easy_strerror(rc)));
  }
  long status = 0;
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
  if (status == 200) return ok();
  std::string code = xml_field(body, "Code");
  std::string message = xml_field(body, "Message");
  if (auto nl = message.find('\n'); nl != std::string::npos) message.resize(nl);
  std::string what = "the blob service answered " + std::to_string(status) +
                     (code.empty() ? "" : " " + code) +
                     (message.empty() ? "" : " (" + message + ")");
  if (status == 404) return err("the container " + display_url + " does not exist: " + what);
  if (status == 403)
    return err("access to " + display_url + " was refused, is the account key right? " + what);
  return err(display_url + ": " + what);
}

}  // namespace batchai
