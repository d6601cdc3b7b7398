//go:build !e2e

package dockertest

// E2E is false without -tags e2e: Require, Registry and BaseImage skip, so
// a unit test binary never touches the daemon or the registry, whatever the
// machine has. The same test runs in the e2e step (make e2e), where a missing
// service is a skip locally and a failure when CI is true.
const E2E = false
