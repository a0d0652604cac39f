package s3store

// WithPageSize lets tests force ListObjectsV2 pagination.
var WithPageSize = withPageSize

// IsTransient exposes the transient-error classification to tests.
var IsTransient = isTransient
