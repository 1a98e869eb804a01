#!/bin/sh
# Entrypoint of the `seaweedfs` service: writes the S3 gateway's one identity from the environment
# (S3_ACCESS_KEY_ID / S3_SECRET_ACCESS_KEY, set from docker/.env), then runs `weed` with the
# service's command and that config. The keys live in docker/.env only: never in an image or in git.
set -eu

: "${S3_ACCESS_KEY_ID:?is not set: give it a value in docker/.env}"
: "${S3_SECRET_ACCESS_KEY:?is not set: give it a value in docker/.env}"
config="${S3_CONFIG_FILE:-/tmp/seaweedfs-s3.json}"

# The keys go into the JSON as they are, so allow only characters that need no escaping there.
for key in "$S3_ACCESS_KEY_ID" "$S3_SECRET_ACCESS_KEY"; do
  case "$key" in
    *[!A-Za-z0-9_-]*)
      echo "seaweedfs-start.sh: S3 keys may hold only letters, digits, - and _" >&2
      exit 2
      ;;
  esac
done

# umask in a subshell: the secret is private to its owner, the store's own files keep the default
(
umask 077
cat > "$config" <<JSON
{
  "identities": [
    {
      "name": "braid",
      "credentials": [{"accessKey": "$S3_ACCESS_KEY_ID", "secretKey": "$S3_SECRET_ACCESS_KEY"}],
      "actions": ["Admin", "Read", "Write", "List", "Tagging"]
    }
  ]
}
JSON
)

exec weed "$@" "-s3.config=$config"
