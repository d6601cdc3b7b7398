//go:build e2e

package dockertest

// E2E is true in test binaries built with -tags e2e: only those may use the
// Docker daemon, the test registry and the fixture images.
const E2E = true
