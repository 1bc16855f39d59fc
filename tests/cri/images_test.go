package cri

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/husk-runtime/husk/tests/clientkit"
)

// The images are made here, without a registry: each is one uncompressed
// layer in an OCI image layout tarball, imported with
// `ctr -n k8s.io images import`. The busybox ones carry /bin/busybox
// (busybox-static) with a hard link per applet; pause, web and nonewprivs are
// small static Go programs of this module.

// Names the tests and critest use. The gcr.io/registry.k8s.io names are the
// ones critest asks for; the images behind them are built here.
const (
	busyboxImage    = "localhost/husk-cri/busybox:1.35"
	pauseImage      = "localhost/husk-cri/pause:1"
	webImage        = "localhost/husk-cri/web:1"
	critestNginx    = "registry.k8s.io/e2e-test-images/nginx:1.14-2"
	critestHttpd    = "registry.k8s.io/e2e-test-images/httpd:2.4.39-4"
	critestNoNewPrv = "registry.k8s.io/e2e-test-images/nonewprivs:1.3"
	critestGroup    = "gcr.io/k8s-staging-cri-tools/test-image-predefined-group:latest"
	critestHostNet  = "gcr.io/k8s-staging-cri-tools/hostnet-nginx-" + runtime.GOARCH + ":latest"
)

type entry struct {
	hdr  tar.Header
	data []byte
}

type imageConfig struct {
	User       string   `json:"User,omitempty"`
	Env        []string `json:"Env,omitempty"`
	Entrypoint []string `json:"Entrypoint,omitempty"`
	Cmd        []string `json:"Cmd,omitempty"`
	WorkingDir string   `json:"WorkingDir,omitempty"`
}

type image struct {
	names  []string
	files  []entry
	config imageConfig
}

const pathEnv = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

func dirEntry(name string, mode int64) entry {
	return entry{hdr: tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode}}
}

func fileEntry(name string, mode int64, data []byte) entry {
	return entry{hdr: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data))}, data: data}
}

// busyboxFiles: /bin/busybox, its applets, a minimal /etc (with extra
// passwd and group lines) and the usual mount points.
func busyboxFiles(passwd, group string) ([]entry, error) {
	dirs := map[string]int64{
		"bin": 0o755, "sbin": 0o755, "usr": 0o755, "usr/bin": 0o755, "usr/sbin": 0o755,
		"etc": 0o755, "root": 0o700, "home": 0o755, "var": 0o755, "var/run": 0o755, "dev": 0o755,
		"proc": 0o555, "sys": 0o555, "run": 0o755, "tmp": 0o1777, "var/tmp": 0o1777,
	}
	bb, applets, err := clientkit.BusyboxApplets(busyboxPath, dirs)
	if err != nil {
		return nil, err
	}
	links := map[string]string{}
	for _, p := range applets {
		links[p] = "bin/busybox"
	}
	// Debian's busybox-static has no pgrep or ipcs, which critest runs in
	// its busybox image: small shell stand-ins.
	scripts := map[string]string{
		"usr/bin/pgrep": `#!/bin/sh
# pgrep NAME (stand-in): the pids whose command name is NAME; 1 if none.
found=1
for d in /proc/[0-9]*; do
	read -r c < "$d/comm" 2>/dev/null && [ "$c" = "$1" ] && echo "${d#/proc/}" && found=0
done
exit $found
`,
		"usr/bin/ipcs": `#!/bin/sh
# ipcs [-m] (stand-in): the System V shared memory segments of this IPC namespace.
echo "------ Shared Memory Segments --------"
echo "key        shmid      owner      perms      bytes      nattch"
tail -n +2 /proc/sysvipc/shm | while read -r key shmid perms size cpid lpid nattch uid rest; do
	printf '0x%08x %-10s %-10s %-10s %-10s %s\n' "$key" "$shmid" "$uid" "$perms" "$size" "$nattch"
done
`,
	}
	for name := range scripts {
		if _, ok := links[name]; ok {
			delete(scripts, name)
		}
		if _, ok := links["bin/"+path.Base(name)]; ok {
			delete(scripts, name)
		}
	}
	var es []entry
	for _, d := range clientkit.SortedKeys(dirs) {
		es = append(es, dirEntry(d, dirs[d]))
	}
	es = append(es, fileEntry("bin/busybox", 0o755, bb),
		fileEntry("etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\n"+
			"www-data:x:33:33:www-data:/var/www:/bin/false\n"+
			"nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"+passwd)),
		fileEntry("etc/group", 0o644, []byte("root:x:0:\nwww-data:x:33:\nnogroup:x:65534:\n"+group)),
		fileEntry("etc/hostname", 0o644, []byte("busybox\n")))
	for _, name := range clientkit.SortedKeys(scripts) {
		es = append(es, fileEntry(name, 0o755, []byte(scripts[name])))
	}
	for _, l := range clientkit.SortedKeys(links) {
		// Hard links, as in busybox images: masking one applet's path
		// (critest's MaskedPaths masks /bin/ls) must not mask them all.
		es = append(es, entry{hdr: tar.Header{Typeflag: tar.TypeLink, Name: l, Linkname: links[l], Mode: 0o755}})
	}
	return es, nil
}

// testImages lists every image the tests and critest need; bins holds the
// static helper programs (pause, web, nonewprivs) by name.
func testImages(bins map[string][]byte) ([]image, error) {
	plain, err := busyboxFiles("", "")
	if err != nil {
		return nil, err
	}
	group, err := busyboxFiles("default-user:x:1000:1000::/home/default-user:/bin/sh\n",
		"default-user:x:1000:\ngroup-defined-in-image:x:50000:default-user\n")
	if err != nil {
		return nil, err
	}
	with := func(base []entry, extra ...entry) []entry {
		return append(append([]entry{}, base...), extra...)
	}
	// Named nginx: critest finds it with `pidof nginx`.
	web := with(plain, fileEntry("usr/sbin/nginx", 0o755, bins["web"]))
	return []image{
		{names: []string{busyboxImage}, files: plain, config: imageConfig{Env: []string{pathEnv}, Cmd: []string{"sh"}}},
		{names: []string{pauseImage}, files: []entry{fileEntry("pause", 0o755, bins["pause"])},
			config: imageConfig{Entrypoint: []string{"/pause"}}},
		{names: []string{webImage, critestNginx, critestHttpd}, files: web,
			config: imageConfig{Env: []string{pathEnv}, Entrypoint: []string{"/usr/sbin/nginx"}}},
		{names: []string{critestHostNet}, files: web,
			config: imageConfig{Env: []string{pathEnv, "WEB_PORT=12003"}, Entrypoint: []string{"/usr/sbin/nginx"}}},
		{names: []string{critestGroup}, files: group,
			config: imageConfig{Env: []string{pathEnv}, Cmd: []string{"sh"}, User: "1000"}},
		{names: []string{critestNoNewPrv}, files: with(plain, fileEntry("usr/local/bin/nnp", 0o4755, bins["nonewprivs"])),
			config: imageConfig{Env: []string{pathEnv}, Entrypoint: []string{"/usr/local/bin/nnp"}}},
	}, nil
}

func tarBytes(es []entry, dirs map[string]bool) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range es {
		h := e.hdr
		h.ModTime, h.Format = clientkit.ImageTime, tar.FormatPAX
		if dirs != nil {
			// parents of files that have none (usr/local/bin for nnp)
			for d := path.Dir(strings.TrimSuffix(h.Name, "/")); d != "." && !dirs[d]; d = path.Dir(d) {
				dirs[d] = true
				if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755, ModTime: clientkit.ImageTime, Format: tar.FormatPAX}); err != nil {
					return nil, err
				}
			}
			if h.Typeflag == tar.TypeDir {
				dirs[strings.TrimSuffix(h.Name, "/")] = true
			}
		}
		if err := tw.WriteHeader(&h); err != nil {
			return nil, err
		}
		if len(e.data) > 0 {
			if _, err := tw.Write(e.data); err != nil {
				return nil, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writeOCIArchive writes img as an OCI image layout tarball, one manifest
// per name (annotated with its full reference, which ctr import uses).
func writeOCIArchive(dst string, img image) error {
	layer, err := tarBytes(img.files, map[string]bool{})
	if err != nil {
		return err
	}
	blobs := clientkit.Blobs{}
	layerDesc := blobs.Add(clientkit.MediaTypeLayer, layer)
	config, err := json.Marshal(map[string]any{
		"created":      clientkit.ImageTime,
		"architecture": runtime.GOARCH,
		"os":           "linux",
		"config":       img.config,
		"rootfs":       map[string]any{"type": "layers", "diff_ids": []string{layerDesc.Digest}},
	})
	if err != nil {
		return err
	}
	configDesc := blobs.Add(clientkit.MediaTypeConfig, config)
	manDesc, err := blobs.AddManifest(configDesc, layerDesc)
	if err != nil {
		return err
	}
	var index []clientkit.OCIDescriptor
	for _, n := range img.names {
		d := manDesc
		d.Annotations = map[string]string{"org.opencontainers.image.ref.name": n, "io.containerd.image.name": n}
		index = append(index, d)
	}
	indexJSON, err := json.Marshal(map[string]any{"schemaVersion": 2, "manifests": index})
	if err != nil {
		return err
	}
	es := []entry{
		fileEntry("oci-layout", 0o644, []byte(`{"imageLayoutVersion":"1.0.0"}`)),
		fileEntry("index.json", 0o644, indexJSON),
		dirEntry("blobs", 0o755), dirEntry("blobs/sha256", 0o755),
	}
	for _, d := range clientkit.SortedKeys(blobs) {
		es = append(es, fileEntry("blobs/sha256/"+strings.TrimPrefix(d, "sha256:"), 0o644, blobs[d]))
	}
	b, err := tarBytes(es, nil)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}
