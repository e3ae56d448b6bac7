// A piece of a job's file as any of its places (the node root, an Azure Files share, an NFS
// server) gives it to the file link route.
#pragma once

#include <cstdint>
#include <string>

namespace batchai::cp {

struct FileChunk {
  std::string bytes;
  std::int64_t file_size = 0;
};

}  // namespace batchai::cp
