#include "jobspec/job_parser.hpp"

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "common/text_pattern.hpp"
#include "common/time.hpp"
#include "jobspec/environment_parser.hpp"
#include "jobspec/rules.hpp"
#include "jobspec/volume_parser.hpp"

namespace batchai {

using nlohmann::json;

std::string to_string(ApiVersion v) {
  return v == ApiVersion::k2018_03_01 ? "2018-03-01" : "2018-05-01";
}

std::string settings_field(Toolkit t) {
  switch (t) {
    case Toolkit::kCntk:
      return "cntkSettings";
    case Toolkit::kPyTorch:
      return "pyTorchSettings";
    case Toolkit::kTensorFlow:
      return "tensorFlowSettings";
    case Toolkit::kCaffe:
      return "caffeSettings";
    case Toolkit::kCaffe2:
      return "caffe2Settings";
    case Toolkit::kChainer:
      return "chainerSettings";
    case Toolkit::kCustomToolkit:
      return "customToolkitSettings";
    case Toolkit::kCustomMpi:
      return "customMpiSettings";
    case Toolkit::kHorovod:
      return "horovodSettings";
  }
  return "";
}

namespace {

constexpr Toolkit kAllToolkits[] = {
    Toolkit::kCntk,          Toolkit::kPyTorch,   Toolkit::kTensorFlow,
    Toolkit::kCaffe,         Toolkit::kCaffe2,    Toolkit::kChainer,
    Toolkit::kCustomToolkit, Toolkit::kCustomMpi, Toolkit::kHorovod};
constexpr std::int64_t kMaxProcesses = 1024;
constexpr int kMaxJsonDepth = 100;
struct TooDeepError {};

void read_toolkit(JsonReader& props, Toolkit kind, JobSpec& spec, Diagnostics& d);
void read_job_json(const json& root, ParsedJob& result);

// Reports every string in the document that holds a NUL character: they would be cut short when
// they reach the operating system. A document given already parsed (an assignment) has not been
// through the parser's depth limit: deeper nesting is reported here, and not walked.
void find_nul_strings(const json& value, const std::string& path, Diagnostics& d, int depth = 0) {
  if (depth > kMaxJsonDepth) {
    d.error(path, "is nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    return;
  }
  if (value.is_string()) {
    if (value.get_ref<const std::string&>().find('\0') != std::string::npos) {
      d.error(path, "contains a NUL character");
    }
  } else if (value.is_object()) {
    for (const auto& [key, child] : value.items()) {
      if (key.find('\0') != std::string::npos) d.error(path, "has a field name with a NUL");
      find_nul_strings(child, path.empty() ? key : std::string(path).append(".").append(key), d,
                       depth + 1);
    }
  } else if (value.is_array()) {
    for (std::size_t i = 0; i < value.size(); ++i) {
      find_nul_strings(value[i], path + "[" + std::to_string(i) + "]", d, depth + 1);
    }
  }
}

// Fields that exist in only one API version.
struct VersionedField {
  const char* name;
  ApiVersion only_in;
};
constexpr VersionedField kVersionedFields[] = {
    {"priority", ApiVersion::k2018_03_01},           {"experimentName", ApiVersion::k2018_03_01},
    {"schedulingPriority", ApiVersion::k2018_05_01}, {"customMpiSettings", ApiVersion::k2018_05_01},
    {"horovodSettings", ApiVersion::k2018_05_01},
};

// The version named by $schema, or inferred from the fields present.
std::optional<ApiVersion> decide_version(const json& root, const json& props, const std::string& at,
                                         Diagnostics& d) {
  auto schema = root.find("$schema");
  if (schema != root.end() && !schema->is_null()) {
    if (!schema->is_string()) {
      d.error("$schema", "must be a string, not " + json_type_name(*schema));
      return std::nullopt;
    }
    static const TextPattern date(R"((\d{4}-\d{2}-\d{2}(?:-preview)?))");
    std::vector<std::string> m;
    const auto& text = schema->get_ref<const std::string&>();
    if (!date.partial_match(text, &m)) {
      d.error("$schema",
              "names no API version (expected .../2018-05-01/... or .../2018-03-01/...)");
      return std::nullopt;
    }
    if (m[0] == "2018-05-01") return ApiVersion::k2018_05_01;
    // The preview's job document is 2018-03-01's (the BrainScript-Distributed recipe still
    // names it).
    if (m[0] == "2018-03-01" || m[0] == "2017-09-01-preview") return ApiVersion::k2018_03_01;
    d.error("$schema", "API version " + m[0] +
                           " is not supported: use 2018-05-01, 2018-03-01 or 2017-09-01-preview");
    return std::nullopt;
  }
  std::string old_field, new_field;
  for (const auto& f : kVersionedFields) {
    auto it = props.find(f.name);
    if (it == props.end() || it->is_null()) continue;
    (f.only_in == ApiVersion::k2018_03_01 ? old_field : new_field) = f.name;
  }
  const json* outputs = props.contains("outputDirectories") ? &props["outputDirectories"] : nullptr;
  if (outputs != nullptr && outputs->is_array()) {
    for (const auto& o : *outputs) {
      if (o.is_object() && ((o.contains("type") && !o["type"].is_null()) ||
                            (o.contains("createNew") && !o["createNew"].is_null()))) {
        old_field = "outputDirectories[].type/createNew";
      }
    }
  }
  if (!old_field.empty() && !new_field.empty()) {
    d.error(at, "mixes API 2018-03-01 (" + old_field + ") and API 2018-05-01 (" + new_field +
                    ") fields; name the version with $schema");
    return std::nullopt;
  }
  return old_field.empty() ? ApiVersion::k2018_05_01 : ApiVersion::k2018_03_01;
}

void read_constraints(JsonReader& props, JobSpec& spec, Diagnostics& d) {
  const json* c = props.object("constraints");
  if (c == nullptr) return;
  JsonReader r(*c, props.path_of("constraints"), d);
  if (auto text = r.nonempty_string("maxWallClockTime")) {
    auto ms = parse_duration_ms(*text);
    if (ms) {
      spec.max_wall_clock_ms = *ms;
    } else {
      d.error(r.path_of("maxWallClockTime"), ms.error().message);
    }
  }
  r.warn_unknown();
}

void read_container(JsonReader& props, JobSpec& spec, Diagnostics& d) {
  const json* c = props.object("containerSettings");
  if (c == nullptr) return;
  JsonReader r(*c, props.path_of("containerSettings"), d);
  ContainerSettings out;
  if (const json* reg = r.object("imageSourceRegistry", true)) {
    JsonReader rr(*reg, r.path_of("imageSourceRegistry"), d);
    if (auto image = rr.nonempty_string("image", true)) {
      if (auto why = check_image_reference(*image); !why.empty()) d.error(rr.path_of("image"), why);
      out.image = *image;
    }
    out.server_url = rr.nonempty_string("serverUrl");
    if (out.server_url) {
      if (auto why = check_registry_server(*out.server_url); !why.empty()) {
        d.error(rr.path_of("serverUrl"), why);
      }
    }
    if (const json* cred = rr.object("credentials")) {
      JsonReader cr(*cred, rr.path_of("credentials"), d);
      out.username = cr.nonempty_string("username", true);
      out.password = cr.string("password");
      if (cr.has("passwordSecretReference")) {
        cr.accept("passwordSecretReference");
        d.error(cr.path_of("passwordSecretReference"),
                "Key Vault references are resolved by the control plane; the node needs the "
                "password itself");
      } else if (!out.password) {
        d.error(cr.path_of("password"), "is required with credentials");
      }
      cr.warn_unknown();
    }
    rr.warn_unknown();
  }
  if (auto shm = r.nonempty_string("shmSize")) {
    std::string reason;
    long long bytes = parse_size_bytes(*shm, reason);
    if (bytes < 0) {
      d.error(r.path_of("shmSize"), reason);
    } else {
      out.shm_size_bytes = bytes;
    }
  }
  r.warn_unknown();
  spec.container = std::move(out);
}

void read_directories(JsonReader& props, JobSpec& spec, Diagnostics& d) {
  std::set<std::string> ids;
  if (const json* list = props.array("inputDirectories")) {
    for (std::size_t i = 0; i < list->size(); ++i) {
      std::string at = props.path_of("inputDirectories") + "[" + std::to_string(i) + "]";
      if (!(*list)[i].is_object()) {
        d.error(at, "must be an object, not " + json_type_name((*list)[i]));
        continue;
      }
      JsonReader r((*list)[i], at, d);
      auto id = r.string("id", true);
      auto path = r.nonempty_string("path", true);
      r.warn_unknown();
      if (id) {
        if (auto why = check_directory_id(*id); !why.empty())
          d.error(r.path_of("id"), why);
        else if (!ids.insert("I" + *id).second)
          d.error(r.path_of("id"), quote_value(*id) + " is used twice");
      }
      if (id && path) spec.input_directories.push_back({*id, *path});
    }
  }
  if (const json* list = props.array("outputDirectories")) {
    for (std::size_t i = 0; i < list->size(); ++i) {
      std::string at = props.path_of("outputDirectories") + "[" + std::to_string(i) + "]";
      if (!(*list)[i].is_object()) {
        d.error(at, "must be an object, not " + json_type_name((*list)[i]));
        continue;
      }
      JsonReader r((*list)[i], at, d);
      OutputDirectory out;
      auto id = r.string("id", true);
      auto prefix = r.nonempty_string("pathPrefix", true);
      out.path_suffix = r.string("pathSuffix");
      if (out.path_suffix && !out.path_suffix->empty()) {
        if (auto why = check_relative_path(*out.path_suffix); !why.empty()) {
          d.error(r.path_of("pathSuffix"), why);
        }
      }
      if (spec.api_version == ApiVersion::k2018_03_01) {
        if (auto type = r.string("type")) {
          static const TextPattern types(
              R"(\s*(model|logs|summary|custom)\s*(,\s*(model|logs|summary|custom)\s*)*)", true);
          if (!types.full_match(*type)) {
            d.error(r.path_of("type"),
                    quote_value(*type) + " is not one of model, logs, summary, custom");
          }
        }
        out.create_new = r.boolean("createNew").value_or(true);
      } else {
        for (const char* old : {"type", "createNew"}) {
          if (r.has(old)) {
            r.accept(old);
            d.error(r.path_of(old), "exists only in API 2018-03-01, not in 2018-05-01");
          }
        }
      }
      r.warn_unknown();
      if (id) {
        if (auto why = check_directory_id(*id); !why.empty())
          d.error(r.path_of("id"), why);
        else if (!ids.insert("O" + *id).second)
          d.error(r.path_of("id"), quote_value(*id) + " is used twice");
      }
      if (id && prefix) {
        out.id = *id;
        out.path_prefix = *prefix;
        spec.output_directories.push_back(std::move(out));
      }
    }
  }
}

}  // namespace

ParsedJob parse_job_document(const std::string& text) {
  ParsedJob result;
  Diagnostics& d = result.diagnostics;
  if (text.size() > kMaxJobDocumentBytes) {
    d.error("", "the document is " + std::to_string(text.size()) +
                    " bytes, more than the limit of " + std::to_string(kMaxJobDocumentBytes));
    return result;
  }
  if (text.find('\0') != std::string::npos) {
    d.error("", "the document contains a NUL byte");
    return result;
  }
  json root;
  try {
    // A field given twice in one object is refused: which one counts would be a guess.
    std::vector<std::set<std::string>> keys;
    std::set<std::string> duplicates;
    // Deeper nesting than any job document needs is refused while parsing: what walks the
    // tree afterwards (copies, dumps, the NUL check) recurses.
    root = json::parse(text, [&](int depth, json::parse_event_t event, json& parsed) {
      if (depth > kMaxJsonDepth) throw TooDeepError{};
      if (event == json::parse_event_t::object_start) keys.emplace_back();
      if (event == json::parse_event_t::object_end && !keys.empty()) keys.pop_back();
      if (event == json::parse_event_t::key && !keys.empty() &&
          !keys.back().insert(parsed.get<std::string>()).second) {
        duplicates.insert(parsed.get<std::string>());
      }
      return true;
    });
    for (const auto& key : duplicates) {
      d.error("", "the field " + quote_value(key) + " appears twice in one object");
    }
    if (!duplicates.empty()) return result;
  } catch (const TooDeepError&) {
    d.error("", "the document is nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    return result;
  } catch (const json::exception& e) {
    std::string what = e.what();
    auto close = what.find("] ");
    what = close == std::string::npos ? what : what.substr(close + 2);
    // The parser quotes what it read last, which may be part of a secret: never show it.
    if (auto last = what.find("; last read:"); last != std::string::npos) what.resize(last);
    d.error("", "not valid JSON: " + what);
    return result;
  }
  read_job_json(root, result);
  return result;
}

ParsedJob parse_job_json(const json& root) {
  ParsedJob result;
  read_job_json(root, result);
  return result;
}

namespace {

void read_job_json(const json& root, ParsedJob& result) {
  Diagnostics& d = result.diagnostics;
  if (!root.is_object()) {
    d.error("", "the document must be a JSON object, not " + json_type_name(root));
    return;
  }
  find_nul_strings(
      root, root.contains("properties") && root["properties"].is_object() ? "" : "properties", d);
  if (d.has_errors()) return;

  // The CLI form wraps the job in "properties"; the bare form is the properties object itself.
  const bool wrapped = root.contains("properties") && !root["properties"].is_null();
  if (wrapped && !root["properties"].is_object()) {
    d.error("properties", "must be an object, not " + json_type_name(root["properties"]));
    return;
  }
  const json& props_json = wrapped ? root["properties"] : root;
  // Paths read "properties.x" in both forms: the bare form is the properties object.
  const std::string at = "properties";
  if (wrapped) {
    JsonReader top(root, "", d);
    top.accept("$schema");
    top.accept("properties");
    for (const char* k : {"name", "id", "type", "location", "tags"}) top.accept(k);
    top.warn_unknown();
  }
  auto version = decide_version(root, props_json, at, d);
  if (!version) return;
  JobSpec& spec = result.spec;
  spec.api_version = *version;

  JsonReader props(props_json, at, d);
  if (!wrapped) props.accept("$schema");
  spec.node_count = props.integer("nodeCount", 1, 10000, true).value_or(1);
  if (auto prefix = props.nonempty_string("stdOutErrPathPrefix", true)) {
    spec.std_out_err_path_prefix = *prefix;
  }
  // Control-plane fields: accepted, not used on the node.
  props.accept("cluster");
  for (const auto& f : kVersionedFields) {
    if (!props.has(f.name) || std::string(f.name).ends_with("Settings")) continue;
    props.accept(f.name);
    if (f.only_in != spec.api_version) {
      d.error(props.path_of(f.name), "exists only in API " + to_string(f.only_in) + ", not in " +
                                         to_string(spec.api_version));
    }
  }
  if (spec.api_version == ApiVersion::k2018_03_01) {
    props.integer("priority", -1000, 1000);
    if (auto name = props.string("experimentName")) {
      if (auto why = check_resource_name(*name); !why.empty()) {
        d.error(props.path_of("experimentName"), why);
      }
    }
  } else if (auto prio = props.string("schedulingPriority")) {
    static const TextPattern prios("low|normal|high", true);
    if (!prios.full_match(*prio)) {
      d.error(props.path_of("schedulingPriority"),
              quote_value(*prio) + " is not one of low, normal, high");
    }
  }

  read_container(props, spec, d);
  if (spec.container && spec.container->shm_size_bytes &&
      spec.api_version == ApiVersion::k2018_03_01) {
    d.error(props.path_of("containerSettings") + ".shmSize",
            "exists only in API 2018-05-01, not in 2018-03-01");
  }
  read_constraints(props, spec, d);

  std::vector<Toolkit> present;
  for (Toolkit t : kAllToolkits) {
    if (props.has(settings_field(t))) present.push_back(t);
  }
  for (Toolkit t : kAllToolkits) props.accept(settings_field(t));
  if (present.empty()) {
    d.error(at,
            "names no toolkit: set exactly one of cntkSettings, pyTorchSettings, "
            "tensorFlowSettings, caffeSettings, caffe2Settings, chainerSettings, "
            "customToolkitSettings, customMpiSettings, horovodSettings");
  } else if (present.size() > 1) {
    std::string names;
    for (Toolkit t : present) names += (names.empty() ? "" : ", ") + settings_field(t);
    d.error(at, "names more than one toolkit (" + names + "): set exactly one");
  } else {
    read_toolkit(props, present.front(), spec, d);
  }

  if (const json* prep = props.object("jobPreparation")) {
    JsonReader r(*prep, props.path_of("jobPreparation"), d);
    spec.job_preparation = r.nonempty_text("commandLine", true);
    r.warn_unknown();
  }
  read_environment(props, spec.environment_variables, spec.secrets, d);
  read_directories(props, spec, d);
  read_mount_volumes(props, spec.mount_volumes, d);
  props.warn_unknown();
}

// Reads the settings object of the one toolkit the document names.
void read_toolkit(JsonReader& props, Toolkit kind, JobSpec& spec, Diagnostics& d) {
  const std::string field = settings_field(kind);
  ToolkitSettings& t = spec.toolkit;
  t.kind = kind;
  if ((kind == Toolkit::kCustomMpi || kind == Toolkit::kHorovod) &&
      spec.api_version == ApiVersion::k2018_03_01) {
    d.error(props.path_of(field), "exists only in API 2018-05-01, not in 2018-03-01");
    return;
  }
  const json* obj = props.object(field);
  if (obj == nullptr) return;
  JsonReader r(*obj, props.path_of(field), d);
  auto read_python = [&](bool required) {
    t.python_script = r.nonempty_string("pythonScriptFilePath", required);
    t.python_interpreter = r.nonempty_string("pythonInterpreterPath");
    t.command_line_args = r.text("commandLineArgs").value_or("");
  };
  auto read_process_count = [&] {
    t.process_count = r.integer("processCount", 1, kMaxProcesses).value_or(spec.node_count);
  };
  switch (kind) {
    case Toolkit::kCustomToolkit:
      t.command_line = r.nonempty_text("commandLine", true).value_or("");
      break;
    case Toolkit::kCustomMpi:
      t.command_line = r.nonempty_text("commandLine", true).value_or("");
      read_process_count();
      break;
    case Toolkit::kPyTorch:
      read_python(true);
      read_process_count();
      t.communication_backend = r.nonempty_string("communicationBackend");
      break;
    case Toolkit::kChainer:
    case Toolkit::kHorovod:
      read_python(true);
      read_process_count();
      break;
    case Toolkit::kCaffe2:
      read_python(true);
      break;
    case Toolkit::kTensorFlow:
      t.python_script = r.nonempty_string("pythonScriptFilePath", true);
      t.python_interpreter = r.nonempty_string("pythonInterpreterPath");
      t.master_args = r.text("masterCommandLineArgs");
      t.worker_args = r.text("workerCommandLineArgs").value_or("");
      t.parameter_server_args = r.text("parameterServerCommandLineArgs").value_or("");
      t.worker_count = r.integer("workerCount", 1, kMaxProcesses).value_or(spec.node_count);
      t.parameter_server_count = r.integer("parameterServerCount", 0, kMaxProcesses).value_or(0);
      break;
    case Toolkit::kCntk: {
      // Unsaid, the language is the one the fields name: a configuration file and no script is
      // BrainScript (as the CNTK-BrainScript recipes have it).
      const bool config_only =
          obj->contains("configFilePath") && !obj->contains("pythonScriptFilePath");
      auto language = r.string("languageType").value_or(config_only ? "BrainScript" : "Python");
      if (language != "Python" && language != "BrainScript") {
        d.error(r.path_of("languageType"),
                quote_value(language) + " is not one of Python, BrainScript");
      }
      t.brainscript = language == "BrainScript";
      read_python(false);
      t.config_file = r.nonempty_string("configFilePath");
      read_process_count();
      if (t.brainscript) {
        if (!t.config_file)
          d.error(r.path_of("configFilePath"), "is required with languageType BrainScript");
        if (t.python_script)
          d.error(r.path_of("pythonScriptFilePath"), "is not used with languageType BrainScript");
      } else {
        if (!t.python_script) {
          d.error(r.path_of("pythonScriptFilePath"),
                  std::string("is required with languageType Python") +
                      (obj->contains("languageType") ? "" : " (the default)"));
        }
        if (t.config_file)
          d.error(r.path_of("configFilePath"), "is used only with languageType BrainScript");
      }
      break;
    }
    case Toolkit::kCaffe:
      read_python(false);
      t.config_file = r.nonempty_string("configFilePath");
      read_process_count();
      if (t.config_file && t.python_script) {
        d.error(r.path_of("pythonScriptFilePath"), "cannot be given together with configFilePath");
      } else if (!t.config_file && !t.python_script) {
        d.error(r.path(), "needs configFilePath or pythonScriptFilePath");
      }
      if (t.python_interpreter && !t.python_script) {
        d.error(r.path_of("pythonInterpreterPath"), "is used only with pythonScriptFilePath");
      }
      break;
  }
  r.warn_unknown();
}

}  // namespace

}  // namespace batchai
