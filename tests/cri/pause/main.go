// Command pause is the sandbox ("pause") process of the CRI tests' pods:
// it holds the pod's namespaces, reaps the orphans it inherits as PID 1 of a
// shared PID namespace, and exits 0 on SIGINT or SIGTERM. Built static
// (CGO_ENABLED=0) and shipped as the only file of the pause image.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range sigs {
		if s != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			var ws syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
