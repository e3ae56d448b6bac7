// Asks the blob service about a container before it is mounted: a FUSE driver mounts a missing
// container, or one it may not read, as an empty directory, so this is where those become errors.
#pragma once

#include <string>

#include "common/result.hpp"

namespace batchai {

// GET <container>?restype=container&comp=list&maxresults=1 with the container's SAS; fails with the
// service's own code (ContainerNotFound, AuthenticationFailed, ...) or the connection's error.
// display_url is what messages name (the SAS is a secret).
Status probe_container(const std::string& sas_url, const std::string& display_url,
                       int timeout_seconds);

}  // namespace batchai
