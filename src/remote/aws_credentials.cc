// AWS credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
// AWS_SESSION_TOKEN, else profile AWS_PROFILE (default "default") of
// AWS_SHARED_CREDENTIALS_FILE (default ~/.aws/credentials).
#include <sstream>

#include "remote/stores.h"

namespace mithril::remote {
namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  const auto e = s.find_last_not_of(" \t\r");
  return b == std::string::npos ? std::string{} : s.substr(b, e - b + 1);
}

}  // namespace

Result<AwsCredentials> load_aws_credentials(const GetEnvFn& getenv, Env& env) {
  AwsCredentials c;
  const auto id = getenv("AWS_ACCESS_KEY_ID");
  const auto secret = getenv("AWS_SECRET_ACCESS_KEY");
  if (id && secret && !id->empty() && !secret->empty()) {
    c.access_key_id = *id;
    c.secret_access_key = *secret;
    c.session_token = getenv("AWS_SESSION_TOKEN").value_or("");
    return c;
  }
  std::string file = getenv("AWS_SHARED_CREDENTIALS_FILE").value_or("");
  if (file.empty()) file = getenv("HOME").value_or("") + "/.aws/credentials";
  const std::string profile = getenv("AWS_PROFILE").value_or("default");
  MITHRIL_ASSIGN(const auto text, read_file(env, file));
  if (text) {
    std::istringstream in(*text);
    std::string line, section;
    while (std::getline(in, line)) {
      line = trim(line);
      if (line.empty() || line[0] == '#' || line[0] == ';') continue;
      if (line.front() == '[' && line.back() == ']') {
        section = trim(line.substr(1, line.size() - 2));
        continue;
      }
      const auto eq = line.find('=');
      if (section != profile || eq == std::string::npos) continue;
      const std::string k = trim(line.substr(0, eq));
      const std::string v = trim(line.substr(eq + 1));
      if (k == "aws_access_key_id") c.access_key_id = v;
      if (k == "aws_secret_access_key") c.secret_access_key = v;
      if (k == "aws_session_token") c.session_token = v;
    }
  }
  if (c.access_key_id.empty() || c.secret_access_key.empty()) {
    return fail(ErrorCode::kInvalidArgument,
                "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or profile '" + profile +
                    "' in " + file);
  }
  return c;
}

}  // namespace mithril::remote
