// Package clientkit holds what husk's client suites (tests/clients: podman
// and containerd; tests/cri: containerd's CRI plugin) both need: running
// commands, building husk, a private containerd, the busybox image's
// pieces, and finding the processes a run left behind.
package clientkit
