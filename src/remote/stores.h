// The remote backends behind open_remote(). Private to src/remote.
#pragma once

#include <memory>

#include <mithril/remote.h>

namespace mithril::remote {

Result<std::unique_ptr<RemoteStore>> open_s3(const RemoteUrl& url, const RemoteOptions& options,
                                             const GetEnvFn& getenv, Env& env);
Result<std::unique_ptr<RemoteStore>> open_redis(const RemoteUrl& url, const RemoteOptions& options);
Result<std::unique_ptr<RemoteStore>> open_file(const RemoteUrl& url, Env& env);

// AWS credentials from the environment, else the shared credentials file.
Result<AwsCredentials> load_aws_credentials(const GetEnvFn& getenv, Env& env);

}  // namespace mithril::remote
