// The store and key commands: put, get, rm, stats, ls, gc, verify, clear,
// config, key, explain. Presentation over Cache; private to cli/.
#pragma once

#include <optional>

#include "command_support.h"

namespace mithril::cli {

void add_store_commands(CLI::App& app, Args& a, Commands& c);
void add_key_commands(CLI::App& app, Args& a, Commands& c);
// Runs the store or key command given; nullopt when none of them was.
std::optional<int> dispatch_store(const Commands& c, const Args& a);

}  // namespace mithril::cli
