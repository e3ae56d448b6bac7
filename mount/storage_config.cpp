#include "mount/storage_config.hpp"

#include <string>

#include "common/fs.hpp"
#include "common/text_pattern.hpp"
#include "jobspec/rules.hpp"

namespace batchai {

namespace {

template <typename Enum>
std::optional<Enum> read_choice(JsonReader& r, const std::string& key,
                                std::initializer_list<std::pair<const char*, Enum>> choices,
                                Diagnostics& d) {
  auto value = r.string(key);
  if (!value) return std::nullopt;
  std::string names;
  for (const auto& [name, e] : choices) {
    if (*value == name) return e;
    names += (names.empty() ? "" : ", ") + std::string("\"") + name + "\"";
  }
  d.error(r.path_of(key), quote_value(*value) + " is not one of " + names);
  return std::nullopt;
}

}  // namespace

StorageSettings read_storage_settings(JsonReader& r, Diagnostics& d) {
  StorageSettings s;
  static const TextPattern host_re(R"([A-Za-z0-9{}\[\]][A-Za-z0-9.:{}\[\]-]{0,252})");
  if (auto host = r.nonempty_string("azureFileHost")) {
    if (!host_re.full_match(*host)) {
      d.error(r.path_of("azureFileHost"), quote_value(*host) + " is not a host name or address");
    } else {
      s.azure_file_host = *host;
    }
  }
  s.smb_port = static_cast<int>(r.integer("smbPort", 1, 65535).value_or(s.smb_port));
  s.smb_driver =
      read_choice<SmbDriver>(
          r, "smbDriver",
          {{"auto", SmbDriver::kAuto}, {"cifs", SmbDriver::kCifs}, {"rclone", SmbDriver::kRclone}},
          d)
          .value_or(s.smb_driver);
  static const TextPattern endpoint_re(
      R"(https?://[A-Za-z0-9.:{}\[\]-]{1,253}(/[A-Za-z0-9._{}-]*){0,16})");
  if (auto endpoint = r.nonempty_string("azureBlobEndpoint")) {
    if (!endpoint_re.full_match(*endpoint)) {
      d.error(r.path_of("azureBlobEndpoint"),
              quote_value(*endpoint) +
                  " is not an http(s) URL like https://{account}.blob.core.windows.net");
    } else {
      s.azure_blob_endpoint = *endpoint;
      while (s.azure_blob_endpoint.ends_with("/")) s.azure_blob_endpoint.pop_back();
    }
  }
  s.blob_driver =
      read_choice<BlobDriver>(r, "blobDriver",
                              {{"auto", BlobDriver::kAuto}, {"rclone", BlobDriver::kRclone}}, d)
          .value_or(s.blob_driver);
  s.mount_timeout_seconds =
      static_cast<int>(r.integer("mountTimeoutSeconds", 1, 3600).value_or(s.mount_timeout_seconds));
  s.mount_attempts = static_cast<int>(r.integer("mountAttempts", 1, 10).value_or(s.mount_attempts));
  for (auto [key, dir] : {std::pair{"runtimeDirectory", &s.runtime_directory},
                          std::pair{"cacheDirectory", &s.cache_directory}}) {
    if (auto value = r.nonempty_string(key)) {
      if (auto why = check_absolute_path(*value); !why.empty()) {
        d.error(r.path_of(key), why);
      } else {
        *dir = *value;
      }
    }
  }
  return s;
}

StorageSettings load_storage_settings(const std::string& path, Diagnostics& d) {
  auto text = read_file(path, 1 << 20);
  if (!text) {
    d.error("", "cannot read the storage settings: " + text.error().message);
    return {};
  }
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(*text);
  } catch (const nlohmann::json::exception&) {
    d.error("", path + " is not valid JSON");
    return {};
  }
  if (!j.is_object()) {
    d.error("", path + " must hold a JSON object");
    return {};
  }
  JsonReader r(j, "", d);
  StorageSettings s = read_storage_settings(r, d);
  r.warn_unknown();
  return s;
}

}  // namespace batchai
