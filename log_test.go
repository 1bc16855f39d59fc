package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestJSONLogLines checks the shape containerd's go-runc decodes: one JSON
// object a line with level, msg and an RFC 3339 time.
func TestJSONLogLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.json")
	l := &logWriter{}
	if err := l.setup(path, "json", false); err != nil {
		t.Fatal(err)
	}
	l.log("debug", "not shown without --debug")
	l.log("warning", "w")
	l.log("error", `exec: "x": no such file or directory`)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []map[string]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]string
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q is not a JSON object: %v", sc.Text(), err)
		}
		if _, err := time.Parse(time.RFC3339, m["time"]); err != nil {
			t.Errorf("time %q is not RFC 3339: %v", m["time"], err)
		}
		lines = append(lines, m)
	}
	if len(lines) != 2 || lines[1]["level"] != "error" || !strings.Contains(lines[1]["msg"], "no such file") {
		t.Fatalf("log lines %v", lines)
	}
}

func TestLogSetupRejectsUnknownFormat(t *testing.T) {
	if err := (&logWriter{}).setup("", "xml", false); err == nil {
		t.Fatal("format xml accepted")
	}
	err := (&logWriter{}).setup(filepath.Join(t.TempDir(), "no", "dir", "log"), "text", false)
	if err == nil || errors.Is(err, nil) {
		t.Fatal("unwritable log path accepted")
	}
}
