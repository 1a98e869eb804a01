"""Create MLflow's artifact bucket in the S3 store when it is missing: the `create-bucket` service.

Plain S3 calls (HeadBucket, CreateBucket) through boto3, so the same step works against SeaweedFS,
MinIO, Ceph or AWS. Reads MLFLOW_S3_ENDPOINT_URL, S3_BUCKET and boto3's own AWS_* credentials.
"""

from __future__ import annotations

import os
import sys

MISSING = {"404", "NoSuchBucket", "NotFound"}


def ensure_bucket(client, bucket: str) -> bool:
    """Create `bucket` unless it exists.

    Args:
        client: a boto3 S3 client.
        bucket: the bucket's name.

    Returns:
        True when the bucket was created, False when it was there already.
    """
    from botocore.exceptions import ClientError

    try:
        client.head_bucket(Bucket=bucket)
        return False
    except ClientError as exc:
        # 403 and the rest (wrong keys, a bucket owned by someone else) must fail the service, not be papered over
        if exc.response.get("Error", {}).get("Code") not in MISSING:
            raise
    client.create_bucket(Bucket=bucket)
    return True


def main() -> int:
    import boto3

    endpoint, bucket = os.environ["MLFLOW_S3_ENDPOINT_URL"], os.environ["S3_BUCKET"]
    client = boto3.client("s3", endpoint_url=endpoint)
    created = ensure_bucket(client, bucket)
    print(f"bucket s3://{bucket} at {endpoint}: {'created' if created else 'already there'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
