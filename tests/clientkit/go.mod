module github.com/husk-runtime/husk/tests/clientkit

go 1.26.0

// The helpers tests/clients and tests/cri share. A module of its own, with
// the standard library only, so that neither suite's dependencies (containerd's
// client, cri-tools) reach the other.
