//go:build !e2e

package main

import (
	"bytes"
	"context"
	"time"
)

// inProcess says that runCommand runs the command in this process, so a
// test may set the package's variables for it.
const inProcess = true

// runCommand runs the command in-process, as main would, with args, and
// cancels it after timeout: the unit build runs it under the race detector.
func runCommand(timeout time.Duration, args ...string) result {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, args, &stdout, &stderr)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}
