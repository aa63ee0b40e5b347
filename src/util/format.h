// The format helpers moved to the public <mithril/format.h> (the CLI uses
// them and must not reach into src/). This forwarding header keeps src/'s
// existing `#include "util/format.h"` lines working; new code includes
// <mithril/format.h>.
#pragma once

#include <mithril/format.h>
