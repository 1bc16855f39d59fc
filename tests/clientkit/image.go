package clientkit

import (
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path"
	"strings"
	"time"
)

// The test images are made without a registry, from the host's static
// busybox: these are the pieces both suites' images share.

// ImageTime is the time stamp of every image file and blob, so that the
// same inputs give the same digests.
var ImageTime = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// CheckStaticBusybox fails unless busybox is a static binary: an image
// holds it alone, without a dynamic loader.
func CheckStaticBusybox(busybox string) error {
	f, err := elf.Open(busybox)
	if err != nil {
		return fmt.Errorf("need a static busybox at %s (apt-get install busybox-static): %v", busybox, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked; install busybox-static", busybox)
		}
	}
	return nil
}

// BusyboxApplets reads the busybox binary and lists its applets (relative
// paths, as busybox itself places them: `--list-full`), adding the
// directories they need (mode 0755) to dirs.
func BusyboxApplets(busybox string, dirs map[string]int64) (bin []byte, applets []string, err error) {
	bin, err = os.ReadFile(busybox)
	if err != nil {
		return nil, nil, err
	}
	list, err := exec.Command(busybox, "--list-full").Output()
	if err != nil {
		return nil, nil, fmt.Errorf("%s --list-full: %w", busybox, err)
	}
	for _, p := range strings.Fields(string(list)) {
		p = strings.TrimPrefix(path.Clean("/"+p), "/")
		if p == "bin/busybox" || p == "" {
			continue
		}
		applets = append(applets, p)
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			if _, ok := dirs[d]; !ok {
				dirs[d] = 0o755
			}
		}
	}
	return bin, applets, nil
}

// OCI image layout (image-spec v1), enough for `ctr image import`.
const (
	MediaTypeManifest = "application/vnd.oci.image.manifest.v1+json"
	MediaTypeConfig   = "application/vnd.oci.image.config.v1+json"
	MediaTypeLayer    = "application/vnd.oci.image.layer.v1.tar"
	MediaTypeIndex    = "application/vnd.oci.image.index.v1+json"
)

type OCIDescriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Platform    *OCIPlatform      `json:"platform,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

type OCIPlatform struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
}

// Blobs are an image layout's blobs by digest.
type Blobs map[string][]byte

// Add stores b and returns its descriptor.
func (bs Blobs) Add(mediaType string, b []byte) OCIDescriptor {
	sum := sha256.Sum256(b)
	d := "sha256:" + hex.EncodeToString(sum[:])
	bs[d] = b
	return OCIDescriptor{MediaType: mediaType, Digest: d, Size: int64(len(b))}
}

// AddManifest stores the manifest of a one-layer image and returns its
// descriptor.
func (bs Blobs) AddManifest(config, layer OCIDescriptor) (OCIDescriptor, error) {
	manifest, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     MediaTypeManifest,
		"config":        config,
		"layers":        []OCIDescriptor{layer},
	})
	if err != nil {
		return OCIDescriptor{}, err
	}
	return bs.Add(MediaTypeManifest, manifest), nil
}
