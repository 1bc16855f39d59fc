// Package stage is the container's process model: the processes husk starts
// to make a container or to run one more process in it, from fork to the
// user's execve, on both ends of the socket that joins them.
//
// A stage is husk's own binary, re-executed (from a read-only view of
// itself, selfexe.go) with argv[1] its Mode and two settings in its
// environment (its sync socket and fd count). Three processes take part:
//
//  1. husk, the parent (spawn.go): Spawn starts the stage, Configure sends
//     the preamble its Settings (settings.go) and serves the handshake,
//     then sends the Config; AwaitReady (init) or AwaitExec (exec) waits
//     for the end of the stage's work. Opts lays out the files the stage
//     gets (stdio, preserved fds, the exec fifo, the console socket, the
//     seccomp agent, the mount source socket) and tells the stage their
//     numbers; while an init makes its mounts, sources.go serves it the
//     bind and idmapped mount sources it can't open itself.
//  2. the preamble (libcontainer/nsenter, C, before the Go runtime starts):
//     it joins the cgroup, joins and creates the namespaces, stops for the
//     setup handshake in a new user namespace (husk writes the id maps),
//     and forks the final process with CLONE_PARENT, reporting its pid.
//  3. the final process, in Go (main.go: Main): it reads its Config and
//     runs its mode: init.go builds the container (rootfs, hooks,
//     console, hostname) and waits on the exec fifo for start; exec.go
//     sets up a terminal. Both then prepare the process (process.go:
//     rlimits, user, capabilities, LSM labels, seccomp, cwd) and execve.
//
// Messages on the socket are JSON lines (sync.go), except the settings,
// which the C preamble reads as one length-prefixed blob of KEY=VALUE
// strings. Everything the stage is given was validated by husk before
// anything was made (spec.Validate): the stage trusts its Config.
package stage
