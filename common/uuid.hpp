#pragma once

#include <string>

namespace batchai {

// A random (version 4) UUID in its lower-case text form.
std::string random_uuid();

}  // namespace batchai
