package clients

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"runtime"
	"sort"
	"strings"
	"time"
)

// The image is made here, without a registry: /bin/busybox (static) plus a
// symlink per applet at the path busybox itself names (`--list-full`), a
// minimal /etc, and the usual empty mount points.

var imageTime = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

func writeRootfsTar(dst string) error {
	bb, err := os.ReadFile(busyboxPath)
	if err != nil {
		return err
	}
	list, err := exec.Command(busyboxPath, "--list-full").Output()
	if err != nil {
		return fmt.Errorf("%s --list-full: %w", busyboxPath, err)
	}
	dirs := map[string]uint32{
		"bin": 0o755, "sbin": 0o755, "usr": 0o755, "usr/bin": 0o755, "usr/sbin": 0o755,
		"etc": 0o755, "root": 0o700, "home": 0o755, "var": 0o755, "dev": 0o755,
		"proc": 0o555, "sys": 0o555, "run": 0o755, "tmp": 0o1777, "var/tmp": 0o1777,
	}
	links := map[string]string{}
	for _, p := range strings.Fields(string(list)) {
		p = strings.TrimPrefix(path.Clean("/"+p), "/")
		if p == "bin/busybox" || p == "" {
			continue
		}
		links[p] = "/bin/busybox"
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			if _, ok := dirs[d]; !ok {
				dirs[d] = 0o755
			}
		}
	}
	files := map[string]string{
		"etc/passwd":   "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
		"etc/group":    "root:x:0:\nnogroup:x:65534:\n",
		"etc/hostname": "busybox\n",
	}

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	hdr := func(h *tar.Header) error {
		h.ModTime, h.Format = imageTime, tar.FormatPAX
		return tw.WriteHeader(h)
	}
	for _, d := range sortedKeys(dirs) {
		if err := hdr(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: int64(dirs[d])}); err != nil {
			return err
		}
	}
	if err := hdr(&tar.Header{Typeflag: tar.TypeReg, Name: "bin/busybox", Mode: 0o755, Size: int64(len(bb))}); err != nil {
		return err
	}
	if _, err := tw.Write(bb); err != nil {
		return err
	}
	for _, name := range sortedKeys(files) {
		if err := hdr(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(files[name]))}); err != nil {
			return err
		}
		if _, err := io.WriteString(tw, files[name]); err != nil {
			return err
		}
	}
	for _, l := range sortedKeys(links) {
		if err := hdr(&tar.Header{Typeflag: tar.TypeSymlink, Name: l, Linkname: links[l], Mode: 0o777}); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return os.WriteFile(dst, buf.Bytes(), 0o644)
}

func sortedKeys[V any](m map[string]V) []string {
	k := make([]string, 0, len(m))
	for s := range m {
		k = append(k, s)
	}
	sort.Strings(k)
	return k
}

// OCI image layout (image-spec v1), enough for `ctr image import`.
type ociDescriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Platform    *ociPlatform      `json:"platform,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

type ociPlatform struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
}

const (
	mtManifest = "application/vnd.oci.image.manifest.v1+json"
	mtConfig   = "application/vnd.oci.image.config.v1+json"
	mtLayer    = "application/vnd.oci.image.layer.v1.tar"
	mtIndex    = "application/vnd.oci.image.index.v1+json"
)

// writeOCIArchive writes an OCI image layout as a tar stream to dst: the
// rootfs tar as the only (uncompressed) layer, tagged `tag`.
func writeOCIArchive(dst, layerPath, tag string) error {
	layer, err := os.ReadFile(layerPath)
	if err != nil {
		return err
	}
	blobs := map[string][]byte{}
	add := func(mt string, b []byte) ociDescriptor {
		sum := sha256.Sum256(b)
		d := "sha256:" + hex.EncodeToString(sum[:])
		blobs[d] = b
		return ociDescriptor{MediaType: mt, Digest: d, Size: int64(len(b))}
	}
	layerDesc := add(mtLayer, layer)
	plat := ociPlatform{Architecture: runtime.GOARCH, OS: "linux"}
	config, err := json.Marshal(map[string]any{
		"created":      imageTime.Format(time.RFC3339),
		"architecture": plat.Architecture,
		"os":           plat.OS,
		"config": map[string]any{
			"Env": []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
			"Cmd": []string{"sh"},
		},
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{layerDesc.Digest}},
		"history": []map[string]any{{
			"created": imageTime.Format(time.RFC3339), "created_by": "husk client tests: busybox-static",
		}},
	})
	if err != nil {
		return err
	}
	configDesc := add(mtConfig, config)
	manifest, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     mtManifest,
		"config":        configDesc,
		"layers":        []ociDescriptor{layerDesc},
	})
	if err != nil {
		return err
	}
	manDesc := add(mtManifest, manifest)
	// ctr 1.6's import keeps a manifest without a platform too (the config's
	// os/architecture decide at unpack), and --all-platforms is not needed;
	// the platform is there for other readers of the archive.
	manDesc.Platform = &plat
	manDesc.Annotations = map[string]string{"org.opencontainers.image.ref.name": tag}
	index, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     mtIndex,
		"manifests":     []ociDescriptor{manDesc},
	})
	if err != nil {
		return err
	}

	f, err := os.Create(dst)
	if err != nil {
		return err
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	put := func(name string, b []byte) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644,
			Size: int64(len(b)), ModTime: imageTime}); err != nil {
			return err
		}
		_, err := tw.Write(b)
		return err
	}
	if err := put("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
		return err
	}
	if err := put("index.json", index); err != nil {
		return err
	}
	for _, dir := range []string{"blobs/", "blobs/sha256/"} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir, Mode: 0o755, ModTime: imageTime}); err != nil {
			return err
		}
	}
	for _, d := range sortedKeys(blobs) {
		if err := put("blobs/sha256/"+strings.TrimPrefix(d, "sha256:"), blobs[d]); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return f.Close()
}
