#include "cli/server_url.hpp"

#include <arpa/inet.h>
#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <memory>

namespace batchai::cli {
namespace {

struct UrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
struct CurlStringDeleter {
  void operator()(char* s) const { curl_free(s); }
};
using CurlString = std::unique_ptr<char, CurlStringDeleter>;

// The part of the URL, or nullopt-like empty pointer when it is absent.
CurlString url_part(CURLU* url, CURLUPart part) {
  char* out = nullptr;
  if (curl_url_get(url, part, &out, 0) != CURLUE_OK) return CurlString{};
  return CurlString{out};
}

bool is_loopback_host(std::string host) {
  std::transform(host.begin(), host.end(), host.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (host == "localhost") return true;
  in_addr v4{};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  in6_addr v6{};
  return ::inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

}  // namespace

std::string choose_server(const std::string& option_value) {
  if (!option_value.empty()) return option_value;
  const char* env = std::getenv("BATCHAI_SERVER");
  if (env != nullptr && *env != '\0') return env;
  return kDefaultServer;
}

Result<ServerUrl> parse_server_url(const std::string& text) {
  std::unique_ptr<CURLU, UrlDeleter> url{curl_url()};
  if (!url) return err("out of memory");
  if (curl_url_set(url.get(), CURLUPART_URL, text.c_str(), 0) != CURLUE_OK) {
    return err("not a valid URL: " + text);
  }
  auto scheme = url_part(url.get(), CURLUPART_SCHEME);
  std::string s = scheme ? scheme.get() : "";
  if (s != "http" && s != "https") {
    return err("the server URL must start with https:// or http://: " + text);
  }
  if (url_part(url.get(), CURLUPART_USER) || url_part(url.get(), CURLUPART_PASSWORD)) {
    return err("the server URL must not hold a user name or password (use --token-file)");
  }
  if (url_part(url.get(), CURLUPART_QUERY) || url_part(url.get(), CURLUPART_FRAGMENT)) {
    return err("the server URL must not have a query or fragment: " + text);
  }
  auto host = url_part(url.get(), CURLUPART_HOST);
  ServerUrl out;
  out.host = host ? host.get() : "";
  out.https = s == "https";
  out.loopback = is_loopback_host(out.host);
  out.base = text;
  while (!out.base.empty() && out.base.back() == '/') out.base.pop_back();
  return out;
}

Result<UrlParts> split_url(const std::string& url) {
  constexpr std::size_t kMaxUrlBytes = 8192;
  if (url.size() > kMaxUrlBytes) return err("a URL of the server's is longer than 8192 bytes");
  for (char c : url) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return err("a URL of the server's holds a space or control byte");
  }
  const auto scheme_end = url.find("://");
  const auto path = scheme_end == std::string::npos ? scheme_end : url.find('/', scheme_end + 3);
  if (path == std::string::npos) return err("not an absolute URL: " + url.substr(0, 200));
  return UrlParts{url.substr(0, path), url.substr(path)};
}

}  // namespace batchai::cli
