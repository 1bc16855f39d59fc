package clientkit

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// ContainerdConfig is the start of a config.toml for a containerd of a
// test run's own: root, state, sockets and the opt plugin's directory all
// under dir, so that it never meets the system's service. The caller may
// append plugin sections. With disableCRI the CRI plugin stays off.
func ContainerdConfig(header, dir, sock string, disableCRI bool) string {
	cri := ""
	if disableCRI {
		cri = "  \"io.containerd.grpc.v1.cri\",\n"
	}
	return fmt.Sprintf(`# %[1]s
version = 2
root = %[2]q
state = %[3]q
disabled_plugins = [
%[4]s  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
]

[grpc]
  address = %[5]q

[ttrpc]
  address = %[6]q

[debug]
  address = %[7]q
  level = "info"

[metrics]
  address = ""

[plugins]
  [plugins."io.containerd.internal.v1.opt"]
    path = %[8]q
`, header, filepath.Join(dir, "root"), filepath.Join(dir, "state"), cri, sock, sock+".ttrpc",
		filepath.Join(dir, "debug.sock"), filepath.Join(dir, "opt"))
}

// Containerd is a running containerd daemon of a test run.
type Containerd struct {
	Cmd     *exec.Cmd
	logPath string
	waitErr chan error
}

// StartContainerd starts `containerd --config confPath`, its output to
// logPath, in a process group of its own so that a test's signals to its
// own group don't reach it.
func StartContainerd(confPath, logPath string) (*Containerd, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command("containerd", "--config", confPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting containerd: %w", err)
	}
	d := &Containerd{Cmd: cmd, logPath: logPath, waitErr: make(chan error, 1)}
	go func() { d.waitErr <- cmd.Wait() }()
	return d, nil
}

// WaitReady polls ready until it succeeds, containerd exits or limit
// passes; the error then carries the end of containerd's log.
func (d *Containerd) WaitReady(ctx context.Context, limit time.Duration, ready func() error) error {
	err := Eventually(ctx, limit, func() error {
		select {
		case err := <-d.waitErr:
			d.waitErr <- err
			return fmt.Errorf("containerd exited: %v", err)
		default:
		}
		return ready()
	})
	if err != nil {
		b, _ := os.ReadFile(d.logPath)
		return fmt.Errorf("containerd did not come up: %v\n--- containerd.log:\n%s", err, Tail(string(b), 40))
	}
	return nil
}

// Stop stops containerd by its pid: SIGTERM, then SIGKILL after grace.
func (d *Containerd) Stop(grace time.Duration) {
	d.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.waitErr:
	case <-time.After(grace):
		d.Cmd.Process.Kill()
		<-d.waitErr
	}
}
