#include "controlplane/blob_files.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <optional>
#include <vector>

#include "common/blob_sas.hpp"
#include "common/percent_encode.hpp"
#include "common/time.hpp"
#include "controlplane/blob_list_xml.hpp"

namespace batchai::cp {

using nlohmann::json;

namespace {

constexpr long kConnectTimeoutS = 10;
constexpr long kTimeoutS = 30;
constexpr int kMaxPages = 10;
constexpr std::size_t kMaxListedFiles = 10000;
constexpr std::size_t kMaxBlobName = 1024;
constexpr std::int64_t kRequestSasSeconds = 300;
constexpr const char* kVersion = "x-ms-version: 2020-10-02";

struct CurlFree {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistFree {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

struct Body {
  std::string text;
  std::size_t limit = 0;
  bool over = false;
};

std::size_t collect(char* data, std::size_t size, std::size_t n, void* out) {
  auto* body = static_cast<Body*>(out);
  if (body->text.size() + size * n > body->limit) {
    body->over = true;
    return 0;  // aborts the transfer
  }
  body->text.append(data, size * n);
  return size * n;
}

struct Answer {
  long status = 0;
  std::string body;
};

std::string where_of(const BlobDirectory& d) {
  return "the blob container " + d.container + " at " + d.endpoint;
}

ApiError transfer_error(const BlobDirectory& d, CURLcode rc, const Body& body) {
  if (body.over) return {502, "StorageError", where_of(d) + " answered with too much"};
  if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_OPERATION_TIMEDOUT ||
      rc == CURLE_COULDNT_RESOLVE_HOST) {
    return {503, "StorageUnreachable", where_of(d) + " is not reachable"};
  }
  return {502, "StorageError", where_of(d) + ": " + curl_easy_strerror(rc)};
}

void set_request(CURL* c, const std::string& url, Body& body, curl_slist* headers) {
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, kConnectTimeoutS);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, kTimeoutS);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_PROXY, "");  // the account's endpoint itself, never a proxy
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
}

// One GET of url, whose answer may have at most limit bytes.
std::variant<Answer, ApiError> request(const BlobDirectory& d, const std::string& url,
                                       std::size_t limit) {
  static const bool started = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  std::unique_ptr<CURL, CurlFree> curl(started ? curl_easy_init() : nullptr);
  if (!curl) return ApiError{500, "InternalError", "libcurl: cannot start a request"};
  std::unique_ptr<curl_slist, SlistFree> headers(curl_slist_append(nullptr, kVersion));
  if (!headers) return ApiError{500, "InternalError", "libcurl: cannot make the request's headers"};
  Body body;
  body.limit = limit;
  set_request(curl.get(), url, body, headers.get());
  const CURLcode rc = curl_easy_perform(curl.get());
  if (rc != CURLE_OK) return transfer_error(d, rc, body);
  Answer a;
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &a.status);
  a.body = std::move(body.text);
  return a;
}

// The service's error code (<Code>...</Code>, letters only), or "".
std::string service_code(const std::string& body) {
  const auto start = body.find("<Code>");
  if (start == std::string::npos) return "";
  const auto end = body.find("</Code>", start);
  if (end == std::string::npos || end - start > 70) return "";
  std::string code = body.substr(start + 6, end - start - 6);
  for (char c : code) {
    if (!std::isalpha(static_cast<unsigned char>(c))) return "";
  }
  return code;
}

// What an answer other than the one expected means.
ApiError status_error(const BlobDirectory& d, const Answer& a) {
  const std::string code = service_code(a.body);
  const std::string why = " (" + std::to_string(a.status) + (code.empty() ? "" : " " + code) + ")";
  if (a.status == 403) {
    return {403, "StorageAccessDenied", where_of(d) + " refused the storage account's key" + why};
  }
  if (a.status == 404) return not_found("ContainerNotFound", where_of(d) + " does not exist" + why);
  return {502, "StorageError", where_of(d) + " answered badly" + why};
}

std::string blob_path(const BlobDirectory& d, const std::string& name) {
  return d.path.empty() ? name : d.path + "/" + name;
}

// The name below prefix of an entry the service listed, or "" when it is not one to serve.
// An entry outside the prefix is the service answering badly.
std::variant<std::string, ApiError> entry_name(const BlobDirectory& d, const std::string& full,
                                               const std::string& prefix, bool directory) {
  if (!full.starts_with(prefix) || full.size() > kMaxBlobName) {
    return ApiError{502, "StorageError", where_of(d) + " listed a blob outside the directory"};
  }
  std::string name = full.substr(prefix.size());
  if (directory) {
    if (!name.ends_with('/')) return std::string();
    name.pop_back();
  }
  return is_blob_name(name) ? name : std::string();
}

std::variant<BlobListPage, ApiError> list_page(const BlobDirectory& d, const std::string& sas,
                                               const std::string& prefix,
                                               const std::string& marker) {
  std::string url =
      sas + "&restype=container&comp=list&delimiter=%2F&prefix=" + percent_encode(prefix);
  if (!marker.empty()) url += "&marker=" + percent_encode(marker);
  auto got = request(d, url, kMaxBlobListBytes);
  if (auto* e = std::get_if<ApiError>(&got)) return *e;
  const Answer& a = std::get<Answer>(got);
  if (a.status != 200) return status_error(d, a);
  auto page = parse_blob_list(a.body);
  if (!page) {
    return ApiError{502, "StorageError",
                    where_of(d) + " answered List Blobs badly: " + page.error().message};
  }
  return std::move(*page);
}

// The page's entries into files; an error when the service listed something outside prefix.
std::optional<ApiError> add_entries(const BlobDirectory& d, const BlobListPage& page,
                                    const std::string& prefix, bool with_directories,
                                    std::vector<json>& files) {
  for (const auto& b : page.blobs) {
    auto name = entry_name(d, b.name, prefix, false);
    if (auto* e = std::get_if<ApiError>(&name)) return *e;
    if (std::get<std::string>(name).empty()) continue;
    files.push_back({{"name", std::get<std::string>(name)},
                     {"size", b.size},
                     {"lastModified", iso8601_utc(b.last_modified_ms)}});
  }
  for (const auto& p : page.prefixes) {
    auto name = entry_name(d, p, prefix, true);
    if (auto* e = std::get_if<ApiError>(&name)) return *e;
    if (!with_directories || std::get<std::string>(name).empty()) continue;
    files.push_back({{"name", std::get<std::string>(name)}, {"directory", true}});
  }
  return std::nullopt;
}

}  // namespace

bool is_blob_name(const std::string& name) {
  if (name.empty() || name.size() > 255 || name == "." || name == "..") return false;
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f || c == '/' || c == '\\') return false;
  }
  return true;
}

bool is_container_name(const std::string& name) {
  if (name.size() < 3 || name.size() > 63 || name.front() == '-' || name.back() == '-') {
    return false;
  }
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool plain = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!plain && (c != '-' || name[i - 1] == '-')) return false;
  }
  return true;
}

std::variant<json, ApiError> list_blob_files(const BlobDirectory& d, bool with_directories) {
  auto sas = container_sas_url(d.endpoint, d.account, d.key, d.container,
                               wall_ms() / 1000 + kRequestSasSeconds, "l");
  if (!sas) return ApiError{500, "InternalError", "cannot sign a request: " + sas.error().message};
  const std::string prefix = d.path.empty() ? "" : d.path + "/";
  std::vector<json> files;
  std::string marker;
  for (int i = 0; i < kMaxPages && files.size() < kMaxListedFiles; ++i) {
    auto page = list_page(d, *sas, prefix, marker);
    if (auto* e = std::get_if<ApiError>(&page)) return *e;
    const BlobListPage& p = std::get<BlobListPage>(page);
    if (auto e = add_entries(d, p, prefix, with_directories, files)) return *e;
    if (p.next_marker.empty()) break;
    marker = p.next_marker;
  }
  if (files.size() > kMaxListedFiles) files.resize(kMaxListedFiles);
  std::sort(files.begin(), files.end(), [](const json& a, const json& b) {
    return a["name"].get<std::string>() < b["name"].get<std::string>();
  });
  return json(files);
}

std::variant<std::string, ApiError> blob_download_url(const BlobDirectory& d,
                                                      const std::string& name,
                                                      std::int64_t expiry_unix_s) {
  if (!is_blob_name(name)) return bad_request("InvalidFileName", "the file name is not plain");
  auto url = blob_sas_url(d.endpoint, d.account, d.key, d.container, blob_path(d, name),
                          expiry_unix_s, "r");
  if (!url) return ApiError{500, "InternalError", "cannot sign a link: " + url.error().message};
  return *url;
}

}  // namespace batchai::cp
