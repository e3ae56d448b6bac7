// The Batch AI job document as the node sees it (reference §1, §4, §6): what the parser produces
// from job.json after validation. Strings are as written; $VAR expansion happens later, when the
// node's environment is known (agent/job/job_environment.hpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "jobspec/volume.hpp"

namespace batchai {

enum class ApiVersion { k2018_03_01, k2018_05_01 };
std::string to_string(ApiVersion v);

struct NameValue {
  std::string name;
  std::string value;
};

struct InputDirectory {
  std::string id;
  std::string path;
};

struct OutputDirectory {
  std::string id;
  std::string path_prefix;
  std::optional<std::string> path_suffix;
  bool create_new = true;  // 2018-03-01 only; false: <pathPrefix>[/<pathSuffix>] as given
};

struct ContainerSettings {
  std::string image;
  std::optional<std::string> server_url;
  std::optional<std::string> username;
  std::optional<std::string> password;  // secret
  std::optional<std::int64_t> shm_size_bytes;
};

enum class Toolkit {
  kCntk,
  kPyTorch,
  kTensorFlow,
  kCaffe,
  kCaffe2,
  kChainer,
  kCustomToolkit,
  kCustomMpi,
  kHorovod,
};
// The field name in the document, e.g. "pyTorchSettings".
std::string settings_field(Toolkit t);

struct ToolkitSettings {
  Toolkit kind = Toolkit::kCustomToolkit;
  std::string command_line;                  // customToolkitSettings, customMpiSettings
  std::optional<std::string> python_script;  // python toolkits
  std::optional<std::string> python_interpreter;
  std::string command_line_args;
  std::optional<std::string> config_file;            // cntk BrainScript, caffe
  bool brainscript = false;                          // cntk languageType
  std::int64_t process_count = 1;                    // defaults to nodeCount
  std::optional<std::string> communication_backend;  // pytorch
  std::optional<std::string> master_args;            // tensorflow
  std::string worker_args;
  std::string parameter_server_args;
  std::int64_t worker_count = 1;
  std::int64_t parameter_server_count = 0;
};

struct JobSpec {
  ApiVersion api_version = ApiVersion::k2018_05_01;
  std::int64_t node_count = 1;
  std::optional<ContainerSettings> container;
  ToolkitSettings toolkit;
  std::optional<std::string> job_preparation;
  std::string std_out_err_path_prefix;
  std::vector<InputDirectory> input_directories;
  std::vector<OutputDirectory> output_directories;
  std::vector<NameValue> environment_variables;
  std::vector<NameValue> secrets;
  std::int64_t max_wall_clock_ms = 7LL * 24 * 3600 * 1000;
  std::vector<MountVolume> mount_volumes;
};

}  // namespace batchai
