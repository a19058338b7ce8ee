//go:build !unix

package actionrun

import "syscall"

func poolProcAttr() *syscall.SysProcAttr { return nil }
