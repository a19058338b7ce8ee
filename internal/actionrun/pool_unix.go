//go:build unix

package actionrun

import "syscall"

// poolProcAttr puts the pool in a process group of its own, which it ends
// whole when the Go process is gone: the processes an Action started go
// with it (pool.cjs).
func poolProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
