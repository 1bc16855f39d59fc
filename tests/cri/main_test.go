// Package cri tests husk as a Kubernetes CRI runtime handler: a containerd
// of its own (CRI plugin, handlers `husk` and `runc`, CNI bridge) driven by
// crictl scenarios and by critest. It must run as root; see README.md:
//
//	cd tests/cri && sudo go test -count=1 -v ./...
package cri

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/husk-runtime/husk/tests/clientkit"
)

const (
	criToolsVersion = "v1.37.0"
	busyboxPath     = "/bin/busybox"
	runcPath        = "/usr/sbin/runc"
	cniBinDir       = "/usr/lib/cni"
	// The pods' network: a bridge of our own holding the gateway, in a
	// network namespace of our own (see reexecInNetns), no NAT.
	bridgeName = "huskcri0"
	podSubnet  = "10.213.0.0/16"
	podGateway = "10.213.0.1"
	cmdTimeout = 90 * time.Second
	netnsEnv   = "HUSK_CRI_NETNS"
)

var (
	suiteSkip  string
	moduleDir  string // tests/cri
	repoRoot   string
	workDir    string // everything the run makes, removed at the end
	huskBin    string
	crictlBin  string
	critestBin string
	ctd        *containerd
)

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	if os.Geteuid() != 0 {
		suiteSkip = "CRI tests need root: run `sudo go test -v ./...` in tests/cri (or `sudo make cri`)"
		fmt.Fprintln(os.Stderr, "SKIP:", suiteSkip)
		return m.Run()
	}
	if os.Getenv(netnsEnv) == "" {
		// The run's network namespace has no way out: what needs the Go
		// module proxy is fetched and built here first.
		if err := buildCRITools(); err != nil {
			fmt.Fprintln(os.Stderr, "setup:", err)
			return 1
		}
		return reexecInNetns()
	}
	if out, err := exec.Command("ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "ip link set lo up: %v %s\n", err, out)
		return 1
	}
	var err error
	if moduleDir, err = os.Getwd(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	repoRoot = filepath.Clean(filepath.Join(moduleDir, "..", ".."))
	if msg := missingTools(); msg != "" {
		fmt.Fprintln(os.Stderr, "FAIL:", msg)
		return 1
	}
	// Short: unix socket paths must stay under 108 bytes.
	if workDir, err = os.MkdirTemp("", "husk-cri-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(workDir)
	if err := setup(); err != nil {
		fmt.Fprintln(os.Stderr, "setup:", err)
		if ctd != nil {
			ctd.stop()
		}
		return 1
	}
	code := m.Run()
	if leaks := ctd.teardown(); len(leaks) > 0 {
		for _, l := range leaks {
			fmt.Fprintln(os.Stderr, "LEAK:", l)
		}
		code = 1
	}
	return code
}

// reexecInNetns runs this test binary again in a new network and IPC
// namespace (unshare --net --ipc), so that the shared memory critest makes
// "on the host" (ipcmk) goes with the run, and that the CNI bridge, the veths, the routes and the
// ip_forward sysctl the bridge plugin sets exist only there and vanish with
// the last process of the run. containerd, crictl and critest all run in
// it: the pods' addresses and containerd's streaming server (127.0.0.1)
// are reachable from this run only.
func reexecInNetns() int {
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		fmt.Fprintln(os.Stderr, "unshare (util-linux) not found:", err)
		return 1
	}
	env := append(os.Environ(), netnsEnv+"=1")
	err = syscall.Exec(unshare, append([]string{"unshare", "--net", "--ipc", "--", self}, os.Args[1:]...), env)
	fmt.Fprintln(os.Stderr, "exec unshare:", err)
	return 1
}

func missingTools() string {
	var miss []string
	for _, b := range []string{"containerd", "ctr", "containerd-shim-runc-v2", "ip", runcPath,
		filepath.Join(cniBinDir, "bridge"), filepath.Join(cniBinDir, "host-local"), filepath.Join(cniBinDir, "loopback")} {
		if _, err := exec.LookPath(b); err != nil {
			miss = append(miss, b)
		}
	}
	if len(miss) > 0 {
		return "missing " + strings.Join(miss, ", ") +
			" (apt-get install containerd runc containernetworking-plugins busybox-static iproute2)"
	}
	if err := clientkit.CheckStaticBusybox(busyboxPath); err != nil {
		return err.Error()
	}
	return ""
}

func setup() error {
	t0 := time.Now()
	if err := buildAll(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "built husk, crictl, critest and the image programs in %s\n", time.Since(t0).Round(time.Millisecond))
	var err error
	if ctd, err = startContainerd(); err != nil {
		return err
	}
	t1 := time.Now()
	if err := importImages(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "imported the images in %s\n", time.Since(t1).Round(time.Millisecond))
	return nil
}

func goRun(dir string, env []string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, clientkit.GoTool(), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s (in %s): %v\n%s", strings.Join(args, " "), dir, err, b)
	}
	return nil
}

// buildAll: husk ($RUNTIME, as `make cri` passes the `make husk` output,
// or built here with the Makefile's flags), the image programs, and
// crictl/critest (buildCRITools), kept in .build/ between runs.
func buildAll() error {
	bin := filepath.Join(workDir, "bin")
	if huskBin = os.Getenv("RUNTIME"); huskBin == "" {
		huskBin = filepath.Join(bin, "husk")
		if err := clientkit.BuildHusk(repoRoot, huskBin, "0.0.0-cri"); err != nil {
			return err
		}
	} else if !filepath.IsAbs(huskBin) {
		return fmt.Errorf("RUNTIME=%s: want an absolute path", huskBin)
	}
	for _, p := range []string{"pause", "web", "nonewprivs"} {
		if err := goRun(moduleDir, []string{"CGO_ENABLED=0"}, "build", "-trimpath", "-ldflags", "-s -w",
			"-o", filepath.Join(bin, p), "./"+p); err != nil {
			return err
		}
	}
	return buildCRITools()
}

// buildCRITools builds crictl and critest at criToolsVersion (this
// module's go.mod pins cri-tools) into .build/, unless they are there.
func buildCRITools() error {
	dir, err := os.Getwd()
	if err != nil {
		return err
	}
	cache := filepath.Join(dir, ".build")
	crictlBin = filepath.Join(cache, "crictl-"+criToolsVersion)
	critestBin = filepath.Join(cache, "critest-"+criToolsVersion)
	if !clientkit.Exists(crictlBin) {
		if err := goRun(dir, nil, "build", "-o", crictlBin+".tmp", "sigs.k8s.io/cri-tools/cmd/crictl"); err != nil {
			return err
		}
		os.Rename(crictlBin+".tmp", crictlBin)
	}
	if !clientkit.Exists(critestBin) {
		// cmd/critest is a test binary, built as cri-tools' Makefile does.
		if err := goRun(dir, nil, "test", "-c", "-o", critestBin+".tmp", "sigs.k8s.io/cri-tools/cmd/critest"); err != nil {
			return err
		}
		os.Rename(critestBin+".tmp", critestBin)
	}
	return nil
}

func importImages() error {
	bins := map[string][]byte{}
	for _, p := range []string{"pause", "web", "nonewprivs"} {
		b, err := os.ReadFile(filepath.Join(workDir, "bin", p))
		if err != nil {
			return err
		}
		bins[p] = b
	}
	imgs, err := testImages(bins)
	if err != nil {
		return err
	}
	for i, img := range imgs {
		archive := filepath.Join(workDir, "images", fmt.Sprintf("%d.tar", i))
		if err := writeOCIArchive(archive, img); err != nil {
			return err
		}
		r := ctd.ctr("images", "import", archive)
		if r.Code != 0 {
			return errors.New(r.String())
		}
		os.Remove(archive)
	}
	r := ctd.ctr("images", "ls", "-q")
	for _, img := range imgs {
		for _, n := range img.names {
			if !strings.Contains(r.Stdout, n+"\n") {
				return fmt.Errorf("image %s not imported; ctr images ls:\n%s", n, r.Stdout)
			}
		}
	}
	return nil
}

// result is one finished command.
type result = clientkit.Result

// runCmd runs bin to completion (cmdTimeout at most), in its own process
// group, killed whole on timeout.
func runCmd(stdin io.Reader, bin string, args ...string) *result {
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	r := &result{Cmd: filepath.Base(bin) + " " + strings.Join(args, " ")}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, &stdout, &stderr
	clientkit.KillGroupOnCancel(cmd)
	start := time.Now()
	r.Err = cmd.Run()
	r.Took = time.Since(start)
	r.Code = -1
	if cmd.ProcessState != nil {
		r.Code = cmd.ProcessState.ExitCode()
	}
	r.Stdout, r.Stderr = stdout.String(), stderr.String()
	return r
}

func requireSuite(t *testing.T) {
	t.Helper()
	if suiteSkip != "" {
		t.Skip(suiteSkip)
	}
}
