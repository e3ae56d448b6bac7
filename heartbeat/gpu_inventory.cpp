#include "heartbeat/gpu_inventory.hpp"

#include <dlfcn.h>
#include <stdio.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <sstream>

namespace batchai {

namespace {

// NVML's C interface, the few calls the agent makes (nvml.h, stable since driver 418).
using nvmlReturn_t = int;
using nvmlDevice_t = void*;
struct nvmlMemory_t {
  unsigned long long total, free, used;
};
constexpr nvmlReturn_t kNvmlSuccess = 0;
constexpr int kUncorrectedErrors = 1;  // NVML_MEMORY_ERROR_TYPE_UNCORRECTED
constexpr int kVolatileEcc = 0;        // NVML_VOLATILE_ECC

struct Nvml {
  nvmlReturn_t (*init)();
  nvmlReturn_t (*shutdown)();
  const char* (*error_string)(nvmlReturn_t);
  nvmlReturn_t (*driver_version)(char*, unsigned);
  nvmlReturn_t (*count)(unsigned*);
  nvmlReturn_t (*handle)(unsigned, nvmlDevice_t*);
  nvmlReturn_t (*name)(nvmlDevice_t, char*, unsigned);
  nvmlReturn_t (*uuid)(nvmlDevice_t, char*, unsigned);
  nvmlReturn_t (*memory)(nvmlDevice_t, nvmlMemory_t*);
  nvmlReturn_t (*ecc)(nvmlDevice_t, int, int, unsigned long long*);
};

struct LibraryClose {
  void operator()(void* h) const { ::dlclose(h); }
};

template <typename F>
bool bind(void* lib, const char* symbol, F& out) {
  out = reinterpret_cast<F>(::dlsym(lib, symbol));
  return out != nullptr;
}

std::string nvml_error(const Nvml& n, nvmlReturn_t rc) {
  const char* s = n.error_string != nullptr ? n.error_string(rc) : nullptr;
  return (s != nullptr ? std::string(s) : "error") + " (NVML " + std::to_string(rc) + ")";
}

std::optional<GpuInventory> from_nvml(const std::string& library) {
  std::unique_ptr<void, LibraryClose> lib(::dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL));
  if (!lib) return std::nullopt;  // no driver: not an error
  GpuInventory inv;
  inv.source = "nvml";
  Nvml n{};
  if (!bind(lib.get(), "nvmlInit_v2", n.init) || !bind(lib.get(), "nvmlShutdown", n.shutdown) ||
      !bind(lib.get(), "nvmlDeviceGetCount_v2", n.count) ||
      !bind(lib.get(), "nvmlDeviceGetHandleByIndex_v2", n.handle) ||
      !bind(lib.get(), "nvmlDeviceGetName", n.name) ||
      !bind(lib.get(), "nvmlDeviceGetUUID", n.uuid) ||
      !bind(lib.get(), "nvmlDeviceGetMemoryInfo", n.memory)) {
    inv.error = library + " is not a usable NVML library (a function is missing)";
    return inv;
  }
  bind(lib.get(), "nvmlErrorString", n.error_string);
  bind(lib.get(), "nvmlSystemGetDriverVersion", n.driver_version);
  bind(lib.get(), "nvmlDeviceGetTotalEccErrors", n.ecc);
  if (nvmlReturn_t rc = n.init(); rc != kNvmlSuccess) {
    inv.error = "the NVIDIA driver does not initialise: " + nvml_error(n, rc);
    return inv;
  }
  char buf[256] = {};
  if (n.driver_version != nullptr && n.driver_version(buf, sizeof buf) == kNvmlSuccess) {
    inv.driver_version = buf;
  }
  unsigned count = 0;
  if (nvmlReturn_t rc = n.count(&count); rc != kNvmlSuccess) {
    inv.error = "NVML cannot count the GPUs: " + nvml_error(n, rc);
    n.shutdown();
    return inv;
  }
  for (unsigned i = 0; i < count; ++i) {
    nvmlDevice_t dev = nullptr;
    GpuInfo g;
    if (nvmlReturn_t rc = n.handle(i, &dev); rc != kNvmlSuccess) {
      inv.error = "GPU " + std::to_string(i) + " does not answer: " + nvml_error(n, rc);
      continue;
    }
    if (n.name(dev, buf, sizeof buf) == kNvmlSuccess) g.name = buf;
    if (n.uuid(dev, buf, sizeof buf) == kNvmlSuccess) g.uuid = buf;
    nvmlMemory_t mem{};
    if (n.memory(dev, &mem) == kNvmlSuccess) g.memory_bytes = static_cast<std::int64_t>(mem.total);
    unsigned long long ecc = 0;
    if (n.ecc != nullptr && n.ecc(dev, kUncorrectedErrors, kVolatileEcc, &ecc) == kNvmlSuccess) {
      g.ecc_uncorrected = static_cast<std::int64_t>(ecc);
    }
    inv.gpus.push_back(std::move(g));
  }
  n.shutdown();
  return inv;
}

struct PipeClose {
  void operator()(FILE* f) const { ::pclose(f); }
};

// nvidia-smi's CSV: name, uuid, memory.total (MiB), driver_version.
std::optional<GpuInventory> from_nvidia_smi() {
  // $BATCHAI_NVIDIA_SMI names another tool (tests); else Debian's and NVIDIA's own places.
  const char* env = std::getenv("BATCHAI_NVIDIA_SMI");
  std::string tool;
  for (const char* p : {env, "/usr/bin/nvidia-smi", "/usr/local/bin/nvidia-smi"}) {
    if (p != nullptr && *p != '\0' && ::access(p, X_OK) == 0) {
      tool = p;
      break;
    }
  }
  if (tool.empty()) return std::nullopt;
  GpuInventory inv;
  inv.source = "nvidia-smi";
  const std::string cmd = tool +
                          " --query-gpu=name,uuid,memory.total,driver_version"
                          " --format=csv,noheader,nounits 2>&1";
  std::unique_ptr<FILE, PipeClose> p(::popen(cmd.c_str(), "r"));
  if (!p) {
    inv.error = "cannot run " + tool;
    return inv;
  }
  std::string out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, p.get()) != nullptr) out += buf;
  int status = ::pclose(p.release());
  if (status != 0) {
    inv.error = tool + " failed: " + out.substr(0, 300);
    return inv;
  }
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    std::vector<std::string> f;
    std::istringstream cells(line);
    for (std::string c; std::getline(cells, c, ',');) {
      while (!c.empty() && c.front() == ' ') c.erase(0, 1);
      f.push_back(c);
    }
    if (f.size() < 4) continue;
    GpuInfo g{f[0], f[1], std::atoll(f[2].c_str()) * 1024 * 1024, 0};
    inv.driver_version = f[3];
    inv.gpus.push_back(std::move(g));
  }
  return inv;
}

}  // namespace

std::string nvml_library() {
  const char* env = std::getenv("BATCHAI_NVML_LIBRARY");
  return env != nullptr && *env != '\0' ? env : "libnvidia-ml.so.1";
}

GpuInventory read_gpu_inventory(const std::string& library) {
  if (auto inv = from_nvml(library)) return *inv;
  if (auto inv = from_nvidia_smi()) return *inv;
  return {};
}

std::vector<std::string> gpu_health_problems(const GpuInventory& at_start,
                                             const GpuInventory& now) {
  std::vector<std::string> problems;
  if (!now.error.empty()) problems.push_back(now.error);
  if (now.gpus.size() < at_start.gpus.size()) {
    std::string gone;
    for (const auto& g : at_start.gpus) {
      bool found = false;
      for (const auto& h : now.gpus) found = found || h.uuid == g.uuid;
      if (!found) gone += (gone.empty() ? "" : ", ") + g.uuid;
    }
    problems.push_back(std::to_string(at_start.gpus.size() - now.gpus.size()) + " of " +
                       std::to_string(at_start.gpus.size()) + " GPUs are gone" +
                       (gone.empty() ? "" : ": " + gone));
  }
  for (const auto& g : now.gpus) {
    if (g.ecc_uncorrected > 0) {
      problems.push_back("GPU " + g.uuid + " (" + g.name + ") has " +
                         std::to_string(g.ecc_uncorrected) + " uncorrectable ECC errors");
    }
  }
  return problems;
}

std::string all_devices(int count) {
  std::string out;
  for (int i = 0; i < count; ++i) out += (i == 0 ? "" : ",") + std::to_string(i);
  return out;
}

}  // namespace batchai
