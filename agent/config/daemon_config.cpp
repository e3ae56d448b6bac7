#include "agent/config/daemon_config.hpp"

#include <sys/stat.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/fs.hpp"
#include "common/json_reader.hpp"
#include "common/text_pattern.hpp"
#include "jobspec/rules.hpp"
#include "mount/storage_config.hpp"

namespace batchai {

namespace {

std::string machine_id() {
  auto id = read_file("/etc/machine-id", 256);
  if (!id) return "";
  std::string s = *id;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

void read_environment(JsonReader& r, DaemonConfig& c, Diagnostics& d) {
  const auto* env = r.object("environment");
  if (env == nullptr) return;
  for (const auto& [name, value] : env->items()) {
    if (auto why = check_env_name(name); !why.empty()) {
      d.error("environment." + name, why);
    } else if (!value.is_string()) {
      d.error("environment." + name, "must be a string");
    } else {
      c.environment.emplace_back(name, value.get<std::string>());
    }
  }
}

void read_settings(JsonReader& r, DaemonConfig& c, Diagnostics& d) {
  c.control_plane_url = r.nonempty_string("controlPlaneUrl", true).value_or("");
  c.ca_bundle = r.string("caBundle").value_or("");
  c.client_certificate = r.string("clientCertificate").value_or("");
  c.client_key = r.string("clientKey").value_or("");
  c.token_file = r.string("tokenFile").value_or("");
  c.allow_insecure_http = r.boolean("allowInsecureHttp").value_or(false);
  c.node_id = r.string("nodeId").value_or("");
  c.cluster = r.nonempty_string("cluster").value_or(c.cluster);
  c.root = r.nonempty_string("root").value_or(c.root);
  c.state_dir = r.nonempty_string("stateDir").value_or(c.state_dir);
  c.kill_grace_seconds =
      static_cast<int>(r.integer("killGraceSeconds", 0, 3600).value_or(c.kill_grace_seconds));
  c.request_timeout_seconds = static_cast<int>(
      r.integer("requestTimeoutSeconds", 1, 600).value_or(c.request_timeout_seconds));
  c.job_ssh_port = static_cast<int>(r.integer("jobSshPort", 1, 65535).value_or(c.job_ssh_port));
  read_environment(r, c, d);
  c.docker_socket = r.nonempty_string("dockerSocket").value_or(c.docker_socket);
  if (const auto* roots = r.array("containerInputRoots")) {
    for (std::size_t i = 0; i < roots->size(); ++i) {
      const std::string at = "containerInputRoots[" + std::to_string(i) + "]";
      const auto& v = (*roots)[i];
      std::string why =
          v.is_string() ? check_absolute_path(v.get<std::string>()) : "must be a string";
      if (!why.empty()) {
        d.error(at, why);
      } else {
        c.container_input_roots.push_back(v.get<std::string>());
      }
    }
  }
  c.account_root = r.nonempty_string("accountRoot").value_or(c.account_root);
  c.unkillable_seconds =
      static_cast<int>(r.integer("unkillableSeconds", 1, 3600).value_or(c.unkillable_seconds));
  c.heartbeat_seconds =
      static_cast<int>(r.integer("heartbeatSeconds", 1, 3600).value_or(c.heartbeat_seconds));
  c.gpu_check_seconds =
      static_cast<int>(r.integer("gpuCheckSeconds", 1, 3600).value_or(c.gpu_check_seconds));
  if (const auto* storage = r.object("storage")) {
    JsonReader sr(*storage, "storage", d);
    c.storage = read_storage_settings(sr, d);
    sr.warn_unknown();
  }
  r.warn_unknown();
  if (c.storage.cache_directory.empty()) c.storage.cache_directory = join_path(c.root, "cache");
}

// What the settings must be together, and the files they name.
void check_settings(DaemonConfig& c, Diagnostics& d) {
  static const TextPattern url_re(R"((https?)://[A-Za-z0-9.\-\[\]:]{1,260}(/[^\s]*)?)");
  std::vector<std::string> m;
  if (!c.control_plane_url.empty()) {
    if (!url_re.full_match(c.control_plane_url, &m)) {
      d.error("controlPlaneUrl", quote_value(c.control_plane_url) + " is not an http(s) URL");
    } else if (m[0] == "http" && !c.allow_insecure_http) {
      d.error("controlPlaneUrl",
              "plain http is refused; use https, or set allowInsecureHttp for a test set-up");
    }
  }
  if (c.client_certificate.empty() != c.client_key.empty()) {
    d.error("clientKey", "clientCertificate and clientKey go together");
  }
  for (auto [name, file] :
       {std::pair{"caBundle", &c.ca_bundle}, std::pair{"clientCertificate", &c.client_certificate},
        std::pair{"clientKey", &c.client_key}, std::pair{"tokenFile", &c.token_file}}) {
    if (file->empty()) continue;
    struct stat st {};
    if (::stat(file->c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      d.error(name, quote_value(*file) + " is not a readable file");
    } else if ((std::string(name) == "tokenFile" || std::string(name) == "clientKey") &&
               (st.st_mode & 077) != 0) {
      d.error(name, quote_value(*file) + " must be readable by its owner only (chmod 600)");
    }
  }
  if (c.node_id.empty()) c.node_id = machine_id();
  if (auto why = check_resource_name(c.node_id); !why.empty()) {
    d.error("nodeId", c.node_id.empty() ? "is empty and /etc/machine-id is unreadable" : why);
  }
  if (auto why = check_resource_name(c.cluster); !why.empty()) d.error("cluster", why);
  for (auto [name, dir] :
       {std::pair{"root", &c.root}, std::pair{"stateDir", &c.state_dir},
        std::pair{"dockerSocket", &c.docker_socket}, std::pair{"accountRoot", &c.account_root}}) {
    if (auto why = check_absolute_path(*dir); !why.empty()) d.error(name, why);
  }
}

}  // namespace

DaemonConfig load_daemon_config(const std::string& path, Diagnostics& d) {
  auto text = read_file(path, 1 << 20);
  if (!text) {
    d.error("", "cannot read the configuration: " + text.error().message);
    return DaemonConfig{};
  }
  return parse_daemon_config(*text, path, d);
}

DaemonConfig parse_daemon_config(const std::string& text, const std::string& path, Diagnostics& d) {
  DaemonConfig c;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception&) {
    d.error("", path + " is not valid JSON");
    return c;
  }
  if (!j.is_object()) {
    d.error("", path + " must hold a JSON object");
    return c;
  }
  JsonReader r(j, "", d);
  read_settings(r, c, d);
  check_settings(c, d);
  return c;
}

bool config_names_control_plane(const std::string& path) {
  auto text = read_file(path, 1 << 20);
  if (!text) return false;
  try {
    auto j = nlohmann::json::parse(*text);
    return j.is_object() && j.contains("controlPlaneUrl");
  } catch (const nlohmann::json::exception&) {
    return false;
  }
}

}  // namespace batchai
