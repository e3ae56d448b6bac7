// The naming rules a job document and the command line must follow. Each returns an empty string
// when the value is fine, else the reason, ready to follow "<path>: ".
#pragma once

#include <string>

namespace batchai {

// A value shown in a message: in double quotes, with quotes, backslashes and control characters
// escaped, so a value can never break a message into lines that look like other messages.
std::string quote_value(const std::string& value);

// Job, workspace and experiment names: ^[-\w_]+$, 1-64 characters.
std::string check_resource_name(const std::string& name);

// Input and output directory ids: they become part of an environment variable name.
std::string check_directory_id(const std::string& id);

// Environment variable names: [A-Za-z_][A-Za-z0-9_]*.
std::string check_env_name(const std::string& name);

// relativeMountPath: relative, no "." or ".." components, no empty components.
std::string check_relative_path(const std::string& path);

// pathSuffix and similar: like check_relative_path.
// An absolute path after expansion: starts with '/', no ".." components.
std::string check_absolute_path(const std::string& path);

// Azure's naming rules (they are the storage service's, so a name that breaks them can only fail
// later, at the mount):
// storage account names: 3-24 lower-case letters and digits.
std::string check_storage_account_name(const std::string& name);
// file share names: 3-63 lower-case letters, digits and single hyphens, starting and ending with
// a letter or digit.
std::string check_share_name(const std::string& name);
// account keys: base64, at most 1024 characters.
std::string check_account_key(const std::string& key);

// A container image as Docker names it: [registry[:port]/]path[:tag][@digest], lower-case path
// components, at most 255 characters for the name.
std::string check_image_reference(const std::string& image);
// A registry's server: a host with an optional port, or an http(s) URL of one.
std::string check_registry_server(const std::string& server);

// Whether text is valid UTF-8 (job documents are; command-line values need checking).
bool is_valid_utf8(const std::string& text);

// Docker-style sizes ("16gb", "512m", "1073741824") in bytes, or -1 with reason set.
long long parse_size_bytes(const std::string& text, std::string& reason);

}  // namespace batchai
