//go:build linux || darwin

package slim

import "syscall"

// freeBytes returns the bytes an unprivileged user may still write in
// dir's filesystem, or -1 when that cannot be known.
func freeBytes(dir string) int64 {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return -1
	}
	return int64(st.Bavail) * int64(st.Bsize)
}
