package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

type runtime struct {
	name string
	bin  string
	root string
	seq  int
}

// evictPageCache drops bin's pages from the page cache, so every runtime's
// binary is read back by its own first exec. How a file came into the page
// cache decides how many page faults each exec of it takes: the pages a
// linker's large writes leave behind are large folios, mapped many pages
// per fault, while an installed binary read back by exec after eviction is
// not. A freshly built husk against a runc installed long ago measured 10-15%
// apart per process for that alone (2-core AMD EPYC VM, 2026-12-04).
func evictPageCache(bin string) error {
	f, err := os.Open(bin)
	if err != nil {
		return err
	}
	defer f.Close()
	// Dirty pages (a binary just linked) are not dropped until written.
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", bin, err)
	}
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		return fmt.Errorf("drop %s from the page cache: %w", bin, err)
	}
	return nil
}

func (rt *runtime) nextID(kind string) string {
	rt.seq++
	return fmt.Sprintf("bench-%s-%d-%s-%d", rt.name, os.Getpid(), kind, rt.seq)
}

// cmd runs one runtime command with stdio on /dev/null (stderr to a file, so
// nothing waits on a pipe the container may hold) and returns its rusage.
func (rt *runtime) cmd(args ...string) (*syscall.Rusage, error) {
	ru, _, err := rt.cmdEnv(nil, args...)
	return ru, err
}

// cmdEnv is cmd with extra environment; it also returns the command's
// stderr, which holds the container's too when the command starts one.
func (rt *runtime) cmdEnv(env []string, args ...string) (*syscall.Rusage, string, error) {
	errf, err := os.CreateTemp(filepath.Dir(rt.root), "stderr.")
	if err != nil {
		return nil, "", err
	}
	defer os.Remove(errf.Name())
	defer errf.Close()

	c := exec.Command(rt.bin, append([]string{"--root", rt.root}, args...)...)
	c.Stderr = errf
	if env != nil {
		c.Env = append(os.Environ(), env...)
	}
	err = c.Run()
	var ru *syscall.Rusage
	if c.ProcessState != nil {
		ru, _ = c.ProcessState.SysUsage().(*syscall.Rusage)
	}
	if ru == nil {
		ru = &syscall.Rusage{}
	}
	msg, _ := os.ReadFile(errf.Name())
	if err != nil {
		return ru, string(msg), fmt.Errorf("%s %s: %v: %s", rt.name, strings.Join(args, " "), err, strings.TrimSpace(string(msg)))
	}
	return ru, string(msg), nil
}

func (rt *runtime) cleanup(id string) {
	_ = exec.Command(rt.bin, "--root", rt.root, "delete", "--force", id).Run()
}

// waitExit waits for the container's init process. It is normally our child
// (we are a subreaper); if not, it falls back to polling `state`.
func waitExit(rt *runtime, id string, pid int) (*syscall.Rusage, error) {
	var ws syscall.WaitStatus
	var ru syscall.Rusage
	for {
		_, err := syscall.Wait4(pid, &ws, 0, &ru)
		if err == nil {
			return &ru, nil
		}
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if !errors.Is(err, syscall.ECHILD) {
			return nil, fmt.Errorf("wait4(%d): %w", pid, err)
		}
		break
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		out, err := exec.Command(rt.bin, "--root", rt.root, "state", id).Output()
		if err != nil {
			return nil, fmt.Errorf("state: %w", err)
		}
		var st struct {
			Status string `json:"status"`
		}
		if err := json.Unmarshal(out, &st); err != nil {
			return nil, fmt.Errorf("state output: %w", err)
		}
		if st.Status == "stopped" {
			return nil, nil
		}
		time.Sleep(time.Millisecond)
	}
	return nil, fmt.Errorf("container %s did not stop", id)
}

// reapAll reaps every exited child (container inits re-parented to us)
// without blocking. Only call it with no command in flight: it would take
// their exit status from os/exec.
func reapAll() {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil || pid <= 0 {
			return
		}
	}
}

// childrenCPU is the user+system time of every child reaped so far (and
// of their reaped descendants): a sample's CPU is its difference across
// the sample, which counts the runtime's processes and the container's,
// whatever else runs on the machine.
func childrenCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func makeBundle(dir, busybox string, rts []*runtime) error {
	bin := filepath.Join(dir, "rootfs", "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return err
	}
	data, err := os.ReadFile(busybox)
	if err != nil {
		return fmt.Errorf("%v (apt-get install busybox-static)", err)
	}
	if err := os.WriteFile(filepath.Join(bin, "busybox"), data, 0o755); err != nil {
		return err
	}
	for _, a := range []string{"true", "sh", "sleep"} {
		if err := os.Symlink("busybox", filepath.Join(bin, a)); err != nil {
			return err
		}
	}
	// Let the runtimes write the default config, husk first.
	var cfgErr error
	for _, rt := range rts {
		if out, err := exec.Command(rt.bin, "spec", "--bundle", dir).CombinedOutput(); err != nil {
			cfgErr = fmt.Errorf("%s spec: %v: %s", rt.name, err, strings.TrimSpace(string(out)))
			continue
		}
		cfgErr = nil
		break
	}
	if cfgErr != nil {
		return cfgErr
	}
	return editConfig(dir, dir, func(cfg map[string]any) error {
		proc, ok := cfg["process"].(map[string]any)
		if !ok {
			return errors.New("config.json has no process object")
		}
		proc["terminal"] = false
		proc["args"] = []string{"/bin/true"}
		// crun 1.8 refuses an ociVersion it doesn't know ("unknown
		// version specified"); the bundle uses nothing newer than 1.0.
		cfg["ociVersion"] = "1.0.2"
		return nil
	})
}

// editConfig writes into dir the config.json of bundle plain changed by
// edit; the root stays plain's rootfs. It is written as podman and
// containerd write one, by json.Marshal: on one line, with no whitespace.
func editConfig(plain, dir string, edit func(map[string]any) error) error {
	raw, err := os.ReadFile(filepath.Join(plain, "config.json"))
	if err != nil {
		return err
	}
	var cfg map[string]any
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return err
	}
	if err := edit(cfg); err != nil {
		return err
	}
	cfg["root"] = map[string]any{"path": filepath.Join(plain, "rootfs")}
	if raw, err = json.Marshal(cfg); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "config.json"), raw, 0o644)
}

// seccompBundle makes a bundle beside the plain one, on the same rootfs,
// whose config adds the seccomp profile in profile.
func seccompBundle(plain, dir, profile string) error {
	raw, err := os.ReadFile(profile)
	if err != nil {
		return err
	}
	var sc any
	if err := json.Unmarshal(raw, &sc); err != nil {
		return fmt.Errorf("%s: %w", profile, err)
	}
	return editConfig(plain, dir, func(cfg map[string]any) error {
		linux, ok := cfg["linux"].(map[string]any)
		if !ok {
			return errors.New("config.json has no linux object")
		}
		linux["seccomp"] = sc
		return nil
	})
}

// sleepBundle makes a bundle whose process sleeps, for exec to join.
func sleepBundle(plain, dir string) error {
	return editConfig(plain, dir, func(cfg map[string]any) error {
		cfg["process"].(map[string]any)["args"] = []string{"/bin/sleep", "3600"}
		return nil
	})
}

func readPid(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("pid file: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("pid file %s: bad content %q", path, b)
	}
	return pid, nil
}

func version(bin string) string {
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		return "version unknown"
	}
	return strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
}
