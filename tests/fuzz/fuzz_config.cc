// The config file <root>/mithril.toml: never crashes, errors are values.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <mithril/config.h>

#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string root = fuzz_temp_dir("config");
  std::ofstream(root + "/mithril.toml", std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  auto no_env = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
  auto config = mithril::load_config({{"root", root}}, no_env);
  if (config) FUZZ_CHECK(config->root == root);
  return 0;
}
