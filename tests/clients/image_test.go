package clients

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/husk-runtime/husk/tests/clientkit"
)

// The image is made here, without a registry: /bin/busybox (static) plus a
// symlink per applet at the path busybox itself names (`--list-full`), a
// minimal /etc, and the usual empty mount points.

func writeRootfsTar(dst string) error {
	dirs := map[string]int64{
		"bin": 0o755, "sbin": 0o755, "usr": 0o755, "usr/bin": 0o755, "usr/sbin": 0o755,
		"etc": 0o755, "root": 0o700, "home": 0o755, "var": 0o755, "dev": 0o755,
		"proc": 0o555, "sys": 0o555, "run": 0o755, "tmp": 0o1777, "var/tmp": 0o1777,
	}
	bb, applets, err := clientkit.BusyboxApplets(busyboxPath, dirs)
	if err != nil {
		return err
	}
	links := map[string]string{}
	for _, p := range applets {
		links[p] = "/bin/busybox"
	}
	files := map[string]string{
		"etc/passwd":   "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
		"etc/group":    "root:x:0:\nnogroup:x:65534:\n",
		"etc/hostname": "busybox\n",
	}

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	hdr := func(h *tar.Header) error {
		h.ModTime, h.Format = clientkit.ImageTime, tar.FormatPAX
		return tw.WriteHeader(h)
	}
	for _, d := range clientkit.SortedKeys(dirs) {
		if err := hdr(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: dirs[d]}); err != nil {
			return err
		}
	}
	if err := hdr(&tar.Header{Typeflag: tar.TypeReg, Name: "bin/busybox", Mode: 0o755, Size: int64(len(bb))}); err != nil {
		return err
	}
	if _, err := tw.Write(bb); err != nil {
		return err
	}
	for _, name := range clientkit.SortedKeys(files) {
		if err := hdr(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(files[name]))}); err != nil {
			return err
		}
		if _, err := io.WriteString(tw, files[name]); err != nil {
			return err
		}
	}
	for _, l := range clientkit.SortedKeys(links) {
		if err := hdr(&tar.Header{Typeflag: tar.TypeSymlink, Name: l, Linkname: links[l], Mode: 0o777}); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return os.WriteFile(dst, buf.Bytes(), 0o644)
}

// writeOCIArchive writes an OCI image layout as a tar stream to dst: the
// rootfs tar as the only (uncompressed) layer, tagged `tag`.
func writeOCIArchive(dst, layerPath, tag string) error {
	layer, err := os.ReadFile(layerPath)
	if err != nil {
		return err
	}
	blobs := clientkit.Blobs{}
	layerDesc := blobs.Add(clientkit.MediaTypeLayer, layer)
	plat := clientkit.OCIPlatform{Architecture: runtime.GOARCH, OS: "linux"}
	config, err := json.Marshal(map[string]any{
		"created":      clientkit.ImageTime.Format(time.RFC3339),
		"architecture": plat.Architecture,
		"os":           plat.OS,
		"config": map[string]any{
			"Env": []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
			"Cmd": []string{"sh"},
		},
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{layerDesc.Digest}},
		"history": []map[string]any{{
			"created": clientkit.ImageTime.Format(time.RFC3339), "created_by": "husk client tests: busybox-static",
		}},
	})
	if err != nil {
		return err
	}
	configDesc := blobs.Add(clientkit.MediaTypeConfig, config)
	manDesc, err := blobs.AddManifest(configDesc, layerDesc)
	if err != nil {
		return err
	}
	// ctr 1.6's import keeps a manifest without a platform too (the config's
	// os/architecture decide at unpack), and --all-platforms is not needed;
	// the platform is there for other readers of the archive.
	manDesc.Platform = &plat
	manDesc.Annotations = map[string]string{"org.opencontainers.image.ref.name": tag}
	index, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     clientkit.MediaTypeIndex,
		"manifests":     []clientkit.OCIDescriptor{manDesc},
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
			Size: int64(len(b)), ModTime: clientkit.ImageTime}); err != nil {
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
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir, Mode: 0o755, ModTime: clientkit.ImageTime}); err != nil {
			return err
		}
	}
	for _, d := range clientkit.SortedKeys(blobs) {
		if err := put("blobs/sha256/"+strings.TrimPrefix(d, "sha256:"), blobs[d]); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return f.Close()
}
