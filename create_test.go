package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWritePidFileHasNoNewline(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pid")
	if err := writePidFile(path, 1234); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != "1234" {
		t.Fatalf("pid file holds %q; containerd parses it with Atoi, so exactly \"1234\"", data)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temporary file left beside the pid file: %v", entries)
	}
}
