// What helpers and the system hand the agent: the mount table (libmount's reading of
// mountinfo), the container engine's answers (pull progress, container lists, the multiplexed
// exec stream), and the strings a document's values become (expansion, words, durations, sizes,
// mount options, image references).
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/time.hpp"
#include "exec/docker_engine.hpp"
#include "jobspec/expand.hpp"
#include "jobspec/mount_options.hpp"
#include "jobspec/rules.hpp"
#include "mount/mount_table.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  using namespace batchai;
  (void)mounts_at_or_below_in(text, "/mnt/batch/tasks");
  (void)pull_error(text);
  (void)container_names(text);
  std::size_t seen = 0;
  StreamDemuxer demux([&](int, const char*, std::size_t n) { seen += n; });
  demux.feed(text.data(), text.size());
  (void)engine_message(EngineReply{400, text});
  auto lookup = [](const std::string& name) -> Result<std::string> {
    if (name == "A") return std::string("x y");
    return err("$" + name + " is not defined");
  };
  (void)expand_vars(text, lookup);
  (void)expand_command_words(text, lookup);
  (void)split_command_words(text);
  (void)parse_duration_ms(text);
  std::string reason;
  (void)parse_size_bytes(text, reason);
  (void)blob_mount_options(text);
  (void)nfs_mount_options(text);
  (void)check_image_reference(text);
  (void)check_registry_server(text);
  (void)check_account_key(text);
  (void)quote_value(text);
  return 0;
}
