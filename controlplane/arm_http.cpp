#include "controlplane/arm_http.hpp"

#include <charconv>
#include <limits>

#include "controlplane/names.hpp"

namespace batchai::cp {

using nlohmann::json;

namespace {

constexpr std::int64_t kDefaultMaxResults = 1000;

bool is_dated_version(const std::string& v) {
  // YYYY-MM-DD, optionally -preview.
  if (v.size() != 10 && v != v.substr(0, 10) + "-preview") return false;
  for (std::size_t i = 0; i < 10; ++i) {
    const bool dash = i == 4 || i == 7;
    if (dash ? v[i] != '-' : (v[i] < '0' || v[i] > '9')) return false;
  }
  return true;
}

bool is_host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == ':' || c == '[' || c == ']';
}

std::optional<std::int64_t> whole(const std::string& text, std::int64_t min, std::int64_t max) {
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || v < min || v > max) {
    return std::nullopt;
  }
  return v;
}

}  // namespace

std::optional<ApiError> check_api_version(const ArmRequest& req) {
  const std::string v = query_param(req.http, "api-version");
  if (v.empty()) {
    return bad_request("MissingApiVersionParameter",
                       "The api-version query parameter (?api-version=) is required for all "
                       "requests.");
  }
  const bool batchai = req.path.provider == "microsoft.batchai";
  if (batchai ? v != kBatchAiApiVersion : !is_dated_version(v)) {
    return bad_request("InvalidApiVersionParameter",
                       "The api-version '" + v.substr(0, 64) + "' is invalid. The supported " +
                           (batchai ? std::string("version is '") + kBatchAiApiVersion + "'."
                                    : std::string("versions are dates: YYYY-MM-DD.")));
  }
  return std::nullopt;
}

std::string query_param(const httplib::Request& req, const std::string& name) {
  const std::string wanted = lower_ascii(name);
  for (const auto& [key, value] : req.params) {
    if (lower_ascii(key) == wanted) return value;
  }
  return "";
}

std::optional<std::string> base_url(const ServerContext& ctx, const httplib::Request& req) {
  if (!ctx.public_url.empty()) return ctx.public_url;
  const std::string host = req.get_header_value("Host");
  if (host.empty() || host.size() > 255) return std::nullopt;
  for (char c : host) {
    if (!is_host_char(c)) return std::nullopt;
  }
  return std::string(ctx.tls ? "https://" : "http://") + host;
}

json arm_resource(const json& flat, const std::string& type) {
  json out = {{"id", flat.value("id", "")}, {"name", flat.value("name", "")}, {"type", type}};
  json properties = json::object();
  for (const auto& [key, value] : flat.items()) {
    if (key == "id" || key == "name" || key == "type" || key == "resourceGroup") continue;
    if (key == "location" || key == "tags") {
      out[key] = value;
    } else {
      properties[key] = value;
    }
  }
  out["properties"] = std::move(properties);
  return out;
}

void send_list(const ServerContext& ctx, const ArmRequest& req, httplib::Response& res,
               const json& items) {
  const std::string max_text = query_param(req.http, "maxresults");
  const std::string skip_text = query_param(req.http, "$skiptoken");
  auto max = max_text.empty() ? std::optional<std::int64_t>(kDefaultMaxResults)
                              : whole(max_text, 1, kDefaultMaxResults);
  // A list that shrank since the last page ends where it now ends.
  auto skip = skip_text.empty() ? std::optional<std::int64_t>(0)
                                : whole(skip_text, 0, std::numeric_limits<std::int32_t>::max());
  if (skip) skip = std::min<std::int64_t>(*skip, static_cast<std::int64_t>(items.size()));
  if (!max) {
    return send_error(res, bad_request("InvalidQueryParameterValue",
                                       "maxresults must be a whole number from 1 to 1000"));
  }
  if (!skip) {
    return send_error(res, bad_request("InvalidQueryParameterValue",
                                       "$skiptoken is not one this control plane gave"));
  }
  json page = json::array();
  const auto end = std::min<std::int64_t>(*skip + *max, static_cast<std::int64_t>(items.size()));
  for (auto i = *skip; i < end; ++i) page.push_back(items[static_cast<std::size_t>(i)]);
  json body = {{"value", page}};
  auto base = base_url(ctx, req.http);
  if (end < static_cast<std::int64_t>(items.size())) {
    if (!base) {
      return send_error(res, bad_request("InvalidHost", "the Host header is not a host and port"));
    }
    std::string link = *base + req.http.path + "?";
    for (const auto& [key, value] : req.http.params) {
      if (lower_ascii(key) == "$skiptoken") continue;
      link += httplib::detail::encode_query_param(key) + "=" +
              httplib::detail::encode_query_param(value) + "&";
    }
    body["nextLink"] = link + "$skiptoken=" + std::to_string(end);
  }
  send_json(res, 200, body);
}

void send_accepted(const ServerContext& ctx, const ArmRequest& req, httplib::Response& res,
                   const std::string& operation) {
  const std::string url = base_url(ctx, req.http).value_or("") + "/subscriptions/" + kSubscription +
                          "/providers/Microsoft.BatchAI/locations/local/operationstatuses/" +
                          operation + "?api-version=" + kBatchAiApiVersion;
  res.set_header("Azure-AsyncOperation", url);
  res.set_header("Location", url);
  res.set_header("Retry-After", "0");
  res.status = 202;
}

void send_no_content(httplib::Response& res) {
  res.status = 204;
  res.body.clear();
}

ApiError quota_exceeded(const std::string& what) {
  return conflict("QuotaExceeded", "this control plane holds at most " +
                                       std::to_string(kMaxArmObjects) + " " + what);
}

ApiError resource_not_found(const std::string& what) {
  return not_found("ResourceNotFound", "The Resource '" + what + "' was not found.");
}

std::variant<json, ApiError> body_object(const httplib::Request& req) {
  if (req.body.empty()) return json::object();
  if (!nesting_within(req.body, kMaxBodyNesting)) {
    return bad_request("InvalidRequestContent", "the request body nests too deeply");
  }
  json body = json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    return bad_request("InvalidRequestContent", "the request body must be a JSON object");
  }
  return body;
}

}  // namespace batchai::cp
