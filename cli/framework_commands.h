// The framework-cache commands: run, env, demo, serve, report, push, pull,
// prefetch, pack, unpack. Presentation only; private to cli/.
#pragma once

#include <optional>

#include "command_support.h"

namespace mithril::cli {

void add_framework_commands(CLI::App& app, Args& a, Commands& c);
// Runs the framework command given; nullopt when none of them was.
std::optional<int> dispatch_frameworks(const Commands& c, const Args& a);

}  // namespace mithril::cli
