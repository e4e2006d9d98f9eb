"""Object storage: the one adapter over the S3 API (the `minio` client), buckets, and later upload slots,
document records and content checks. Nothing else talks to S3."""
