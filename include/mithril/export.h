// MITHRIL_API marks what libmithril exports: every public class and
// non-inline function declared in include/mithril/*.h.
//
// The library is compiled with -fvisibility=hidden and
// -fvisibility-inlines-hidden, so only what carries MITHRIL_API is visible
// from libmithril.so; src/ internals stay private to it. The static
// libmithril.a holds the same objects (linking it statically, every symbol
// resolves as usual). Consumers need no define: the attribute on a
// declaration they include changes nothing for them.
#pragma once

#if defined(__GNUC__) || defined(__clang__)
#define MITHRIL_API __attribute__((visibility("default")))
#else
#define MITHRIL_API
#endif
