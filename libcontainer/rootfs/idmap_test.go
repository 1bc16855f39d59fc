package rootfs

import (
	"testing"

	"github.com/husk-runtime/husk/spec/vocab"
)

func TestAttachIDMappedUnprepared(t *testing.T) {
	r := &rootDir{}
	if err := r.attachIDMapped(&Config{}, 0, "/data", vocab.MountOptions{}); err == nil {
		t.Fatal("attaching an idmapped mount husk did not prepare must fail")
	}
}
