// Small text parsers of user and server input: size strings, remote URLs,
// the XML of S3 responses. Never crash; accepted URLs never print a password.
#include <mithril/config.h>
#include <mithril/remote.h>

#include "fuzz_util.h"
#include "remote/xml.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = as_text(data, size);
  if (auto n = mithril::parse_size(text); n) (void)mithril::format_size(*n);
  if (auto url = mithril::parse_remote_url(text); url && url->password.find_first_not_of('*') != std::string::npos) {
    // The authority part of the printed URL never holds the password (the
    // same bytes may legitimately appear in the path or query).
    const auto start = url->redacted.find("://") + 3;
    const auto authority = url->redacted.substr(start, url->redacted.find_first_of("/?", start) - start);
    FUZZ_CHECK(authority.find(":" + url->password + "@") == std::string::npos);
  }
  for (const char* tag : {"Key", "Code", "UploadId", "NextContinuationToken"}) {
    for (const auto& v : mithril::remote::xml_values(text, tag)) FUZZ_CHECK(v.size() <= size);
  }
  return 0;
}
