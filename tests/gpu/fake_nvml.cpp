// A stand-in for libnvidia-ml.so.1 with NVML's C interface, for tests on machines without GPUs.
// $FAKE_NVML_CONFIG names a file read at every nvmlInit_v2, with lines:
//   gpus=N        how many GPUs (named "Fake GPU", UUIDs GPU-fake-<i>, 16 GiB)
//   init=CODE     nvmlInit_v2 fails with CODE (9: driver not loaded)
//   ecc=N         GPU 0 reports N uncorrectable ECC errors
// so a test can change the node's GPUs while the agent runs.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

namespace {

struct Config {
  unsigned gpus = 0;
  int init = 0;
  unsigned long long ecc = 0;
};
Config config;

void load() {
  config = Config{};
  const char* path = std::getenv("FAKE_NVML_CONFIG");
  if (path == nullptr) return;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string key = line.substr(0, eq);
    unsigned long long v = std::strtoull(line.c_str() + eq + 1, nullptr, 10);
    if (key == "gpus") config.gpus = static_cast<unsigned>(v);
    if (key == "init") config.init = static_cast<int>(v);
    if (key == "ecc") config.ecc = v;
  }
}

struct Memory {
  unsigned long long total, free, used;
};

}  // namespace

extern "C" {

int nvmlInit_v2() {
  load();
  return config.init;
}
int nvmlShutdown() {
  return 0;
}
const char* nvmlErrorString(int rc) {
  return rc == 9 ? "Driver Not Loaded" : "Unknown Error";
}
int nvmlSystemGetDriverVersion(char* out, unsigned len) {
  std::snprintf(out, len, "535.0-fake");
  return 0;
}
int nvmlDeviceGetCount_v2(unsigned* count) {
  *count = config.gpus;
  return 0;
}
int nvmlDeviceGetHandleByIndex_v2(unsigned index, void** device) {
  if (index >= config.gpus) return 2;  // NVML_ERROR_INVALID_ARGUMENT
  *device = reinterpret_cast<void*>(static_cast<std::uintptr_t>(index + 1));
  return 0;
}
int nvmlDeviceGetName(void*, char* out, unsigned len) {
  std::snprintf(out, len, "Fake GPU");
  return 0;
}
int nvmlDeviceGetUUID(void* device, char* out, unsigned len) {
  std::snprintf(out, len, "GPU-fake-%lu",
                static_cast<unsigned long>(reinterpret_cast<std::uintptr_t>(device) - 1));
  return 0;
}
int nvmlDeviceGetMemoryInfo(void*, Memory* m) {
  m->total = 16ULL << 30;
  m->free = m->total;
  m->used = 0;
  return 0;
}
int nvmlDeviceGetTotalEccErrors(void* device, int, int, unsigned long long* count) {
  *count = reinterpret_cast<std::uintptr_t>(device) == 1 ? config.ecc : 0;
  return 0;
}

}  // extern "C"
